// The demo server (ricoberger/gitops-using-flux): Deployment, Service and ServiceMonitor, with the
// figures of the demo's merged kustomize manifests and a pod that passes Pod Security "restricted".
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { componentType, inCluster, type ClusterConnection } from "./cluster.ts";
import type { ComputeResources } from "../settings/index.ts";
import { ServiceMonitor } from "./customResources.ts";

/** The image's user is the name `nobody`; the kubelet can only verify a numeric user as non-root. */
export const nobody = 65534;
const port = { name: "http", containerPort: 8080 };

export interface ServerArgs {
  /** The server image, with a tag. */
  readonly image: string;
  /** Server pods. */
  readonly replicas: number;
  /** The server's `--log.level`. */
  readonly logLevel: string;
  /** CPU and memory requests and limits of the server container. */
  readonly resources: ComputeResources;
  /** Namespace the server runs in (Pod Security "restricted"). */
  readonly namespace: pulumi.Input<string>;
  /** Prometheus, Ready: the ServiceMonitor CRD exists only once it is installed. */
  readonly monitoringReady: pulumi.Resource;
  /**
   * Where the image comes from, when the stack makes it (the local registry): pods start after it.
   * @default none
   */
  readonly imageSource?: pulumi.Resource;
  /** The cluster the server runs in. */
  readonly cluster: ClusterConnection;
}

/** The pod template of the server's Deployment. */
export function serverPodTemplate(
  settings: Pick<ServerArgs, "image" | "logLevel" | "resources">,
  labels: Record<string, string>,
): k8s.types.input.core.v1.PodTemplateSpec {
  const probe = { httpGet: { path: "/health", port: port.name } };
  return {
    metadata: { labels },
    spec: {
      securityContext: {
        runAsNonRoot: true,
        runAsUser: nobody,
        runAsGroup: nobody,
        seccompProfile: { type: "RuntimeDefault" },
      },
      containers: [
        {
          name: "server",
          image: settings.image,
          imagePullPolicy: "IfNotPresent",
          args: [`--log.level=${settings.logLevel}`],
          ports: [{ ...port, protocol: "TCP" }],
          readinessProbe: probe,
          livenessProbe: probe,
          resources: settings.resources,
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
          },
        },
      ],
    },
  };
}

export class Server extends pulumi.ComponentResource {
  readonly deployment: k8s.apps.v1.Deployment;
  readonly service: k8s.core.v1.Service;
  readonly serviceMonitor: ServiceMonitor;

  constructor(name: string, args: ServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentType("Server"), name, {}, opts);
    const labels = { app: "server" };
    const metadata = { name: "server", namespace: args.namespace, labels };

    this.deployment = new k8s.apps.v1.Deployment(
      `${name}-deployment`,
      {
        metadata,
        spec: {
          replicas: args.replicas,
          strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } },
          selector: { matchLabels: labels },
          template: serverPodTemplate(args, labels),
        },
      },
      inCluster(this, args.cluster, args.imageSource ? { dependsOn: [args.imageSource] } : {}),
    );

    this.service = new k8s.core.v1.Service(
      `${name}-service`,
      {
        metadata,
        spec: {
          type: "ClusterIP",
          ports: [{ name: port.name, port: port.containerPort, targetPort: port.name, protocol: "TCP" }],
          // The Deployment's own pod labels: the two cannot drift apart.
          selector: this.deployment.spec.template.metadata.labels,
        },
      },
      inCluster(this, args.cluster),
    );

    this.serviceMonitor = new ServiceMonitor(
      `${name}-monitor`,
      {
        metadata,
        spec: {
          endpoints: [{ port: port.name, path: "/metrics", interval: "10s", scrapeTimeout: "10s" }],
          namespaceSelector: { matchNames: [args.namespace] },
          selector: { matchLabels: labels },
        },
      },
      inCluster(this, args.cluster, { dependsOn: [args.monitoringReady, this.service] }),
    );

    this.registerOutputs({});
  }
}
