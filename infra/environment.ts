// One environment (one stack), composed from validated settings: the cluster, its namespaces,
// Flux, Prometheus (installed by Flux), the demo server, the image policies and, when a
// repository is configured, the Git sync. Components own their outputs; this only composes.
import * as pulumi from "@pulumi/pulumi";
import type { Cluster } from "./components/cluster.ts";
import { ExistingCluster } from "./components/existingCluster.ts";
import { Flux } from "./components/flux.ts";
import { GitSync, type GitCredentials } from "./components/gitSync.ts";
import { ImagePolicies } from "./components/imagePolicies.ts";
import { KindCluster } from "./components/kindCluster.ts";
import { LocalGitServer } from "./components/localGitServer.ts";
import { LocalRegistry } from "./components/localRegistry.ts";
import { Monitoring } from "./components/monitoring.ts";
import { Namespaces } from "./components/namespaces.ts";
import { Server } from "./components/server.ts";
import {
  deployKeyPage,
  imageRepository,
  projectRoot,
  readSettings,
  serverImagePolicy,
  type GitSettings,
  type Settings,
} from "./settings/index.ts";

/** Builds the environment; the returned values are the stack outputs. */
export function buildEnvironment(settings: Settings, root = projectRoot) {
  for (const warning of settings.warnings) void pulumi.log.warn(warning);
  const cluster = connectCluster(settings, root);
  // The local registry beside a kind cluster; it fills itself with the server's image when that lives there.
  const registrySettings = settings.cluster.kind === "kind" ? settings.cluster.registry : undefined;
  const imageOnRegistry = registrySettings?.serverImage !== undefined;
  const registry =
    registrySettings && cluster instanceof KindCluster
      ? new LocalRegistry("registry", {
          ...registrySettings,
          clusterName: cluster.clusterName,
          kindCluster: cluster.deletedWith,
          stack: settings.stack,
          workDir: root,
          cluster,
        })
      : undefined;

  const namespaces = new Namespaces("namespaces", { names: settings.namespaces, cluster });

  // The namespace name is an output of the Namespace: Flux waits for it through that input.
  const flux = new Flux("flux", { ...settings.flux, namespace: namespaces.names.flux, cluster });

  const monitoring = new Monitoring("monitoring", {
    ...settings.prometheus,
    namespace: namespaces.names.monitoring,
    fluxNamespace: namespaces.names.flux,
    flux: flux.instance,
    cluster,
  });

  new Server("server", {
    ...settings.server,
    namespace: namespaces.names.server,
    monitoringReady: monitoring.prometheus,
    ...(imageOnRegistry && { imageSource: registry?.container }),
    cluster,
  });

  new ImagePolicies("images", {
    ...settings.imagePolicy,
    repository: imageRepository(settings.server.image),
    // The local registry speaks plain HTTP.
    ...(imageOnRegistry && { insecure: true, registry: registry?.container }),
    policyName: serverImagePolicy(settings.stack),
    namespace: namespaces.names.flux,
    flux: flux.instance,
    cluster,
  });

  const git = settings.git;
  // The local Git server beside a kind cluster, filled with this checkout: Flux syncs from it.
  const gitServer =
    git.mode === "local" && cluster instanceof KindCluster
      ? new LocalGitServer("git-server", {
          ...git.server,
          branch: git.branch,
          kindCluster: cluster.deletedWith,
          stack: settings.stack,
          workDir: root,
        })
      : undefined;
  const gitSync =
    git.mode === "off"
      ? undefined
      : new GitSync("git", {
          ...git,
          url: git.location.url,
          credentials: gitCredentials(git),
          deployKeyPage: deployKeyPage(git.location),
          namespace: namespaces.names.flux,
          environment: settings.stack,
          flux: flux.instance,
          ...(gitServer && { source: gitServer.container }),
          cluster,
        });

  return {
    clusterName: cluster.clusterName,
    kubeconfig: cluster.kubeconfig,
    kubectlContext: cluster.contextName,
    kubeconfigExport: cluster.kubeconfigExport,
    fluxNamespace: flux.namespace,
    fluxVersion: flux.version,
    fluxOperatorVersion: flux.operatorVersion,
    fluxWebUi: `npm run ui -- ${settings.stack}`,
    gitSync:
      gitSync?.description ?? `off: no repository configured (set git.url, or turn on cluster.gitServer, in Pulumi.${settings.stack}.yaml)`,
    ...(gitSync?.deployKeyAccess !== undefined && { deployKeyAccess: gitSync.deployKeyAccess }),
    ...(gitSync?.deployKey && { deployKey: gitSync.deployKey }),
    ...(gitSync?.deployKeyPage !== undefined && { deployKeyPage: gitSync.deployKeyPage }),
    ...(gitSync?.deployKeyAdded !== undefined && { deployKeyAdded: gitSync.deployKeyAdded }),
    ...(registry && { localRegistry: registry.description }),
    ...(gitServer && { localGitServer: gitServer.description, gitRemote: gitServer.remote }),
  };
}

export type EnvironmentOutputs = ReturnType<typeof buildEnvironment>;

/** The stack's cluster: a kind cluster it creates, or an existing one it only deploys into. */
function connectCluster({ cluster, stack }: Settings, root: string): Cluster {
  if (cluster.kind === "existing") return new ExistingCluster("cluster", cluster);
  return new KindCluster("cluster", { ...cluster, clusterName: cluster.name, workDir: root, stack });
}

/** The Git settings as the credentials Flux gets. */
function gitCredentials(git: Exclude<GitSettings, { mode: "off" }>): GitCredentials {
  if (git.mode === "local") return { kind: "none" };
  if (git.mode === "https") return git.token ? { kind: "token", username: git.username, token: git.token } : { kind: "none" };
  return git.key.kind === "generated"
    ? { kind: "generatedKey", knownHosts: git.knownHosts, readOnly: git.readOnly, addTo: git.key.addedBy }
    : { kind: "suppliedKey", privateKey: git.key.privateKey, knownHosts: git.knownHosts, readOnly: git.readOnly };
}

/**
 * The program: read and validate every setting first, then build. `root`: the project folder
 * (the one this program is in); `environment`: the variables the settings read (GITHUB_TOKEN).
 */
export function deployEnvironment(
  root = projectRoot,
  environment: Readonly<Record<string, string | undefined>> = process.env,
): EnvironmentOutputs {
  return buildEnvironment(readSettings(root, environment), root);
}
