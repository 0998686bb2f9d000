// The cluster: a kind cluster the stack creates and deletes, or an existing one it only
// deploys into (with its kubeconfig). Parsed into one of the two.
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { z } from "zod";
import { described, kindDuration, nonEmpty, oneOf, section, wholeNumber, yesNo } from "./fields.ts";
import { show } from "./problems.ts";
import { resolveUserPath } from "./project.ts";
import type { SecretValues } from "./secrets.ts";
import { localGitServer, localRegistry, type LocalGitServer, type LocalRegistry } from "./registries.ts";
import { isMapping, secretPlaceholder } from "./values.ts";

/** kind v0.32.0's default node image (its release notes), Kubernetes v1.36.1. */
export const defaultNodeImage = "kindest/node:v1.36.1@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5";

/** Flux 2.8 supports Kubernetes 1.33 and newer. */
const minimumKubernetesMinor = 33;

/** Where kind keeps a cluster's kubeconfig, relative to the project root (git-ignored). */
export const kubeconfigFile = (clusterName: string) => path.join(".kube", `${clusterName}.yaml`);

// kind takes `^[a-z0-9.-]+$` (pkg/internal/apis/config/validate.go); its node containers are
// named `<name>-control-plane`, `<name>-worker`, ..., and that name is also their host name,
// which Docker wants to start with a letter or digit and Linux to be a host name of at most
// 63 characters (kind#619: sethostname fails).
const kindClusterName = /^[a-z0-9][a-z0-9.-]*$/;
const hostnameLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const nodeSuffix = "-control-plane";
/** Why kind, Docker or Linux would refuse `name` as a cluster name; undefined when they take it. */
export function clusterNameProblem(name: string): string | undefined {
  const allowed = "must be a kind cluster name: lower-case letters, digits, '.' and '-', starting with a letter or digit";
  if (!kindClusterName.test(name)) return allowed;
  const hostname = `${name}${nodeSuffix}`;
  if (hostname.length > 63 || !hostname.split(".").every((label) => hostnameLabel.test(label))) {
    return `${allowed}, at most ${63 - nodeSuffix.length} characters and no '..', '.-' or '-.': its nodes are named ${hostname.slice(0, 80)}, which must be a host name`;
  }
  return undefined;
}
const clusterName = z.string({ error: "must be a kind cluster name" }).superRefine((name, ctx) => {
  const problem = clusterNameProblem(name);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});
const pinnedNodeImage = /^[a-z0-9][a-z0-9._/:-]*:v(?<major>[0-9]+)\.(?<minor>[0-9]+)\.[0-9]+@sha256:[a-f0-9]{64}$/;

const nodeImage = z.string({ error: "must be a node image reference" }).superRefine((image, ctx) => {
  const match = pinnedNodeImage.exec(image);
  if (!match) {
    ctx.addIssue({ code: "custom", message: `must be pinned by tag and digest, like ${defaultNodeImage}` });
  } else if (Number(match.groups?.major) === 1 && Number(match.groups?.minor) < minimumKubernetesMinor) {
    ctx.addIssue({
      code: "custom",
      message: `must be Kubernetes v1.${minimumKubernetesMinor} or newer (Flux 2.8 needs it), like ${defaultNodeImage}`,
    });
  }
});

const portMapping = section({
  containerPort: wholeNumber(1, 65535),
  hostPort: wholeNumber(1, 65535),
  listenAddress: z.union([z.ipv4(), z.ipv6()], { error: "must be an IPv4 or IPv6 address" }).default("127.0.0.1"),
  protocol: oneOf(["TCP", "UDP", "SCTP"]).default("TCP"),
});
export type PortMapping = z.output<typeof portMapping>;

const anyAddress = new Set(["0.0.0.0", "::"]);
/** Whether two host port mappings take the same port: same protocol and port, on the same or every address. */
export function portsClash(
  a: Pick<PortMapping, "hostPort" | "protocol" | "listenAddress">,
  b: Pick<PortMapping, "hostPort" | "protocol" | "listenAddress">,
): boolean {
  if (a.hostPort !== b.hostPort || a.protocol !== b.protocol) return false;
  return a.listenAddress === b.listenAddress || anyAddress.has(a.listenAddress) || anyAddress.has(b.listenAddress);
}

/** A container beside the kind cluster with one TCP port published on 127.0.0.1: on or off, and that port. */
const publishedContainer = (defaultPort: number) =>
  section({
    enabled: yesNo().default(false),
    hostPort: wholeNumber(1024, 65535).default(defaultPort),
  }).prefault({});

export const clusterSchema = (stack: string) =>
  described(
    section({
      kind: described(
        oneOf(["kind", "existing"]).default("kind"),
        '`kind`: the stack creates and deletes a kind cluster; `existing`: it deploys into a cluster it does not own (see "Bring your own cluster")',
      ),
      kubeconfigPath: described(
        nonEmpty("must be the path of a kubeconfig file").optional(),
        "`existing` only: the kubeconfig file (`~/…` or relative to the project); or the secret `kubeconfig`",
      ),
      context: described(
        nonEmpty("must be a context of the kubeconfig").optional(),
        "`existing` only: the context to use; required with `cluster.kubeconfigPath` (kubectl moves a file's current context), else the secret kubeconfig's current one",
      ),
      // prefault, not default: a name derived from the stack name must pass the same check.
      name: described(
        clusterName.prefault(`gitops-${stack}`),
        "kind cluster name (lower-case letters, digits, `.`, `-`; a letter or digit first; at most 49, as its nodes are named `<name>-control-plane`); the kubectl context is `kind-<name>`",
      ),
      nodeImage: described(
        nodeImage.default(defaultNodeImage),
        "node image, pinned by tag **and** digest; Kubernetes v1.33 or newer (Flux 2.8)",
      ),
      workers: described(wholeNumber(0, 10).default(0), "worker nodes besides the control plane (0–10)"),
      waitTimeout: described(
        kindDuration("90s or 5m").default("5m"),
        "how long cluster creation waits for the control plane (`90s`, `5m`, ...)",
      ),
      extraPortMappings: described(
        z
          .array(portMapping, { error: "must be a list of port mappings" })
          .default([])
          .superRefine((mappings, ctx) => {
            mappings.forEach((mapping, index) => {
              const earlier = mappings.slice(0, index).findIndex((other) => portsClash(other, mapping));
              if (earlier !== -1) {
                ctx.addIssue({
                  code: "custom",
                  path: [index, "hostPort"],
                  input: mapping.hostPort,
                  message: `must be unique: mapping [${earlier}] already takes ${mapping.protocol} port ${mapping.hostPort} on ${mapping.listenAddress}`,
                });
              }
            });
          }),
        "host ports forwarded to the control-plane node: `containerPort`, `hostPort`, `listenAddress` (default `127.0.0.1`), `protocol` (`TCP`, `UDP`, `SCTP`; default `TCP`); host ports must not repeat",
      ),
      mirrors: described(
        yesNo().default(true),
        "pull images through the machine's pull-through mirrors (Docker Hub, ghcr.io, quay.io, registry.k8s.io), shared by every environment and kept when one is destroyed, so each image crosses the internet once per machine (`npm run mirrors`); `false` pulls directly",
      ),
      registry: described(
        publishedContainer(5001),
        "a local image registry beside the kind cluster, no account needed: `enabled` (default `false`), `hostPort` on 127.0.0.1 for `docker push localhost:<hostPort>/...` (default `5001`; each environment its own); images in it are `<name>-registry:5000/<path>:<tag>`",
      ),
      gitServer: described(
        publishedContainer(3001),
        "a local Git server beside the kind cluster, no account needed: `enabled` (default `false`), `hostPort` on 127.0.0.1 for `git push` (default `3001`; each environment its own). `up` fills it with this checkout's commit, and Flux syncs from it and writes image tags back to it; only while `git.url` is unset",
      ),
    })
      .superRefine((cluster, ctx) => {
        if (cluster.kind === "kind") {
          for (const key of ["kubeconfigPath", "context"] as const) {
            if (cluster[key] !== undefined)
              ctx.addIssue({ code: "custom", path: [key], input: cluster[key], message: "is only used with cluster.kind: existing" });
          }
          // A published container's port must be free of the mappings (and of the containers before it).
          const mappingTaking = (hostPort: number) => {
            const taken = cluster.extraPortMappings.findIndex((mapping) =>
              portsClash(mapping, { hostPort, protocol: "TCP", listenAddress: "127.0.0.1" }),
            );
            return taken === -1
              ? undefined
              : `must differ from the ports of cluster.extraPortMappings: mapping [${taken}] already takes TCP port ${hostPort}`;
          };
          const { registry, gitServer } = cluster;
          const clashes: [string, typeof registry, string | undefined][] = [
            ["registry", registry, mappingTaking(registry.hostPort)],
            [
              "gitServer",
              gitServer,
              mappingTaking(gitServer.hostPort) ??
                (registry.enabled && registry.hostPort === gitServer.hostPort
                  ? `must differ from cluster.registry.hostPort, which already takes TCP port ${gitServer.hostPort}`
                  : undefined),
            ],
          ];
          for (const [name, container, message] of clashes) {
            if (container.enabled && message)
              ctx.addIssue({ code: "custom", path: [name, "hostPort"], input: container.hostPort, message });
          }
        }
      })
      .prefault({}),
    "The cluster: kind (kind: the stack creates one; existing: kubeconfigPath or the secret kubeconfig, optional context). " +
      "For kind: name (default gitops-<stack>), nodeImage (kindest/node tag@sha256 digest), workers, waitTimeout, " +
      "extraPortMappings [{containerPort, hostPort, listenAddress, protocol}], mirrors, registry {enabled, hostPort}, gitServer {enabled, hostPort}.",
  );

type ParsedCluster = z.output<ReturnType<typeof clusterSchema>>;

/** The host ports a kind cluster's containers publish on 127.0.0.1 (TCP), with the setting that names each. */
export function publishedPorts({ registry, gitServer }: KindClusterSettings): { hostPort: number; setting: string }[] {
  return [
    ...(registry ? [{ hostPort: registry.hostPort, setting: "cluster.registry.hostPort" }] : []),
    ...(gitServer ? [{ hostPort: gitServer.hostPort, setting: "cluster.gitServer.hostPort" }] : []),
  ];
}

/** A kind cluster the stack creates, and deletes with everything in it. */
export interface KindClusterSettings {
  readonly kind: "kind";
  readonly name: string;
  readonly nodeImage: string;
  readonly workers: number;
  readonly waitTimeout: string;
  readonly extraPortMappings: readonly PortMapping[];
  /** Where kind keeps its kubeconfig, relative to the project root. */
  readonly kubeconfigFile: string;
  /** Whether the nodes pull through the machine's pull-through mirrors. */
  readonly mirrors: boolean;
  /** The local registry beside the cluster, when it is on. */
  readonly registry?: LocalRegistry;
  /** The local Git server beside the cluster, when it is on. */
  readonly gitServer?: LocalGitServer;
}

/** A cluster the stack does not own: it only deploys into it. */
export interface ExistingClusterSettings {
  readonly kind: "existing";
  /** The kubeconfig, always a Pulumi secret. */
  readonly kubeconfig: pulumi.Output<string>;
  /** Absolute path of the kubeconfig file, when it came from cluster.kubeconfigPath. */
  readonly kubeconfigPath?: string;
  /** The context to use; the kubeconfig's current one when undefined (secret kubeconfig only). */
  readonly context?: string;
}

export type ClusterSettings = KindClusterSettings | ExistingClusterSettings;

export interface ClusterSources {
  readonly project: string;
  /** The fields the stack file sets (not filled in by defaults). */
  readonly given: readonly string[];
  /** The project folder: a relative cluster.kubeconfigPath is relative to it. */
  readonly root: string;
  readonly secrets: SecretValues;
  /** Reads a file the settings name; undefined when it cannot. */
  readonly readFile: (absolutePath: string) => string | undefined;
}

/** Settings that shape a kind cluster: an existing cluster has none of them. */
const kindOnly = ["name", "nodeImage", "workers", "waitTimeout", "extraPortMappings", "mirrors", "registry", "gitServer"] as const;

/** The parsed section as a kind cluster, or an existing one with its kubeconfig from exactly one place. */
export function resolveCluster(cluster: ParsedCluster, sources: ClusterSources, problems: string[]): ClusterSettings | undefined {
  const key = (name: string) => `${sources.project}:${name}`;
  const { kubeconfig } = sources.secrets;
  if (cluster.kind === "existing") {
    for (const name of kindOnly.filter((field) => sources.given.includes(field))) {
      problems.push(
        `${key(`cluster.${name}`)}: ${show(cluster[name])} — is only used with cluster.kind: kind (this stack deploys into an existing cluster)`,
      );
    }
  }
  if (cluster.kind === "kind") {
    if (kubeconfig !== undefined) problems.push(`${key("kubeconfig")}: (value hidden) — is only used with cluster.kind: existing`);
    const { name, nodeImage, workers, waitTimeout, extraPortMappings, mirrors, registry, gitServer } = cluster;
    return {
      kind: "kind",
      name,
      nodeImage,
      workers,
      waitTimeout,
      extraPortMappings,
      mirrors,
      kubeconfigFile: kubeconfigFile(name),
      ...(registry.enabled && { registry: localRegistry(name, registry.hostPort) }),
      ...(gitServer.enabled && { gitServer: localGitServer(name, gitServer.hostPort, sources.project) }),
    };
  }
  if (cluster.kubeconfigPath !== undefined && kubeconfig !== undefined) {
    problems.push(
      `${key("cluster.kubeconfigPath")}: ${show(cluster.kubeconfigPath)} — must not be set together with the secret ${key("kubeconfig")}: choose one`,
    );
    return undefined;
  }
  if (kubeconfig !== undefined) {
    // Offline (render, doctor), an encrypted value cannot be read, so it cannot be checked either.
    const problem = kubeconfig === secretPlaceholder ? undefined : kubeconfigProblem(kubeconfig, cluster.context);
    if (problem) {
      problems.push(`${key("kubeconfig")}: (value hidden) — ${problem}`);
      return undefined;
    }
    return { kind: "existing", kubeconfig: pulumi.secret(kubeconfig), context: cluster.context };
  }
  if (cluster.kubeconfigPath === undefined) {
    problems.push(
      `${key("cluster.kubeconfigPath")}: (missing) — must be set (or the secret ${key("kubeconfig")}: pulumi config set --secret kubeconfig < file) when cluster.kind is existing`,
    );
    return undefined;
  }
  // A kubeconfig file is shared with kubectl, which moves its current context: name the context.
  if (cluster.context === undefined) {
    problems.push(
      `${key("cluster.context")}: (missing) — must name the kubeconfig's context to use with cluster.kubeconfigPath: its current context changes with kubectl config use-context`,
    );
    return undefined;
  }
  const file = resolveUserPath(cluster.kubeconfigPath, sources.root);
  const text = sources.readFile(file);
  if (text === undefined || text.trim() === "") {
    problems.push(
      `${key("cluster.kubeconfigPath")}: ${show(cluster.kubeconfigPath)} — must be a readable, non-empty kubeconfig file (${file})`,
    );
    return undefined;
  }
  const problem = kubeconfigProblem(text, cluster.context);
  if (problem) {
    problems.push(`${key("cluster.kubeconfigPath")}: ${show(cluster.kubeconfigPath)} — ${problem} (${file})`);
    return undefined;
  }
  return { kind: "existing", kubeconfig: pulumi.secret(text), kubeconfigPath: file, context: cluster.context };
}

/**
 * What is wrong with a kubeconfig for this stack: not a kubeconfig, or without the context to
 * use. Never quotes the file (it holds credentials), only the names of its contexts.
 */
export function kubeconfigProblem(text: string, context: string | undefined): string | undefined {
  let config: unknown;
  try {
    config = YAML.parse(text, { maxAliasCount: 100 });
  } catch {
    return "must be a kubeconfig (YAML with clusters, users and contexts): it is not valid YAML";
  }
  const contexts = isMapping(config) && Array.isArray(config.contexts) ? config.contexts : undefined;
  if (!isMapping(config) || contexts === undefined || !Array.isArray(config.clusters)) {
    return "must be a kubeconfig (YAML with clusters, users and contexts), as kind get kubeconfig or a cloud's CLI writes it";
  }
  const names = contexts
    .map((entry) => (isMapping(entry) && typeof entry.name === "string" ? entry.name : undefined))
    .filter((name) => name !== undefined);
  const wanted = context ?? (typeof config["current-context"] === "string" ? config["current-context"] : undefined);
  if (wanted === undefined)
    return `must name the context to use: it has no current-context (set cluster.context; contexts: ${names.join(", ") || "none"})`;
  if (!names.includes(wanted)) {
    return `${context === undefined ? "its current-context" : "cluster.context"} ${JSON.stringify(wanted)} is not among its contexts (${names.join(", ") || "none"})`;
  }
  return undefined;
}
