// One environment (one stack), composed from validated settings: the cluster, its namespaces,
// Flux, Prometheus (installed by Flux), the demo server, the image policies and, when a
// repository is configured, the Git sync.
import * as pulumi from "@pulumi/pulumi";
import { deployKeyPage, projectRoot, readSettings, type Settings } from "./config";
import { ExistingCluster } from "./existingCluster";
import { Flux } from "./flux";
import { kubeconfigFile } from "./cluster";
import { deployKeyAccess, GitSync } from "./gitSync";
import { ImagePolicies } from "./imagePolicies";
import { KindCluster } from "./kindCluster";
import { Monitoring } from "./monitoring";
import { Namespaces } from "./namespaces";
import { Server } from "./server";

/** Builds the environment; the returned values are the stack outputs. */
export function buildEnvironment(settings: Settings) {
  for (const warning of settings.warnings) void pulumi.log.warn(warning);
  const { cluster, clusterOutputs } = connectCluster(settings);

  const namespaces = new Namespaces("namespaces", { names: settings.namespaces, cluster });

  // The namespace name is an output of the Namespace: Flux waits for it through that input.
  const flux = new Flux("flux", { ...settings.flux, namespace: namespaces.names.flux, cluster });

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
    environment: settings.stack,
    flux: flux.release,
    cluster,
  });

  const git = settings.git;
  const gitSync =
    settings.gitLocation &&
    new GitSync("git", {
      settings: git,
      location: settings.gitLocation,
      secrets: settings.secrets,
      namespace: namespaces.names.flux,
      environment: settings.stack,
      flux: flux.release,
      cluster,
    });

  const keyPage = settings.gitLocation && deployKeyPage(settings.gitLocation);
  return {
    ...clusterOutputs,
    fluxNamespace: flux.namespace,
    fluxChartVersion: flux.chartVersion,
    gitSync: settings.gitLocation
      ? `on: ${settings.gitLocation.url} branch ${git.branch}, path ${git.path}, every ${git.interval}` +
        (git.imageUpdates.enabled ? ", image updates pushed back" : "")
      : `off: no repository configured (set git.url in Pulumi.${settings.stack}.yaml)`,
    // Only for ssh:// repositories: the key to add to the repository, where, and with which access.
    ...(settings.gitLocation?.scheme === "ssh" && {
      deployKeyAccess: deployKeyAccess(git),
      ...(gitSync?.deployPublicKey && { deployKey: gitSync.deployPublicKey }),
      ...(gitSync?.deployPublicKey && keyPage !== undefined && { deployKeyPage: keyPage }),
    }),
  };
}

export type EnvironmentOutputs = ReturnType<typeof buildEnvironment>;

/** The stack's cluster: a kind cluster it creates, or an existing one it only deploys into. */
function connectCluster(settings: Settings) {
  if (settings.existingCluster) {
    const cluster = new ExistingCluster("cluster", settings.existingCluster);
    const { path: file, context } = settings.existingCluster;
    return {
      cluster,
      clusterOutputs: {
        clusterName: context ?? "existing",
        kubeconfig: cluster.kubeconfig,
        kubectlContext: cluster.contextName,
        kubeconfigExport: file
          ? `export KUBECONFIG=${file}`
          : `pulumi stack output kubeconfig --show-secrets > kubeconfig.yaml && export KUBECONFIG=$PWD/kubeconfig.yaml`,
      },
    };
  }
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
  return {
    cluster,
    clusterOutputs: {
      clusterName: cluster.clusterName,
      kubeconfig: cluster.kubeconfig,
      kubectlContext: `kind-${cluster.clusterName}`,
      kubeconfigExport: `export KUBECONFIG=${cluster.kubeconfigPath}`,
    },
  };
}

/** The program: read and validate every setting first, then build. */
export function deployEnvironment(): EnvironmentOutputs {
  return buildEnvironment(readSettings());
}

