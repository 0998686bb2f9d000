// One environment (one stack), composed from validated settings: the cluster, its namespaces,
// Flux, Prometheus (installed by Flux), the demo server and the image policies.
import * as path from "node:path";
import { projectRoot, readSettings, type Settings } from "./config";
import { Flux } from "./flux";
import { ImagePolicies } from "./imagePolicies";
import { KindCluster } from "./kindCluster";
import { Monitoring } from "./monitoring";
import { Namespaces } from "./namespaces";
import { Server } from "./server";

/** Where kind keeps a cluster's kubeconfig, relative to the project root (git-ignored). */
export const kubeconfigFile = (clusterName: string) => path.join(".kube", `${clusterName}.yaml`);

/** Builds the environment; the returned values are the stack outputs. */
export function buildEnvironment(settings: Settings) {
  const cluster = new KindCluster("cluster", {
    clusterName: settings.cluster.name,
    nodeImage: settings.cluster.nodeImage,
    workers: settings.cluster.workers,
    waitTimeout: settings.cluster.waitTimeout,
    extraPortMappings: settings.cluster.extraPortMappings,
    workDir: projectRoot,
    kubeconfigFile: kubeconfigFile(settings.cluster.name),
    stack: settings.stack,
  });

  const namespaces = new Namespaces("namespaces", { names: settings.namespaces, cluster });

  // The namespace name is an output of the Namespace: Flux waits for it through that input.
  const flux = new Flux("flux", {
    namespace: namespaces.names.flux,
    chartVersion: settings.flux.chartVersion,
    repository: settings.flux.repository,
    values: settings.flux.values,
    timeoutSeconds: settings.flux.timeoutSeconds,
    cluster,
  });

  const monitoring = new Monitoring("monitoring", {
    namespace: namespaces.names.monitoring,
    fluxNamespace: namespaces.names.flux,
    settings: settings.prometheus,
    flux: flux.release,
    cluster,
  });

  new Server("server", {
    ...settings.server,
    namespace: namespaces.names.server,
    monitoringReady: monitoring.prometheus,
    cluster,
  });

  new ImagePolicies("images", {
    namespace: namespaces.names.flux,
    image: settings.server.image,
    settings: settings.imagePolicy,
    flux: flux.release,
    cluster,
  });

  return {
    clusterName: cluster.clusterName,
    kubeconfig: cluster.kubeconfig,
    kubectlContext: `kind-${cluster.clusterName}`,
    kubeconfigExport: `export KUBECONFIG=${cluster.kubeconfigPath}`,
    fluxNamespace: flux.namespace,
    fluxChartVersion: flux.chartVersion,
  };
}

export type EnvironmentOutputs = ReturnType<typeof buildEnvironment>;

/** The program: read and validate every setting first, then build. */
export function deployEnvironment(): EnvironmentOutputs {
  return buildEnvironment(readSettings());
}

