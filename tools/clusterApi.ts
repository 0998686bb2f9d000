// How the tools that talk to an environment's cluster (sync, ui) reach its API server: the
// kubeconfig file, loaded on its context, and what to say when the server does not answer. Its
// own module: only those tools load the Kubernetes client.
import * as fs from "node:fs";
import * as path from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import type { Settings } from "../infra/settings/index.ts";
import { ToolError } from "./cli.ts";

/** How a tool reaches an environment's cluster: a kubeconfig file and, for an existing cluster, its context. */
export interface ClusterAccess {
  readonly kubeconfigPath: string;
  /** A context of that kubeconfig; its current context when undefined. */
  readonly context?: string;
}

/**
 * The kubeconfig file of an environment's cluster, or a ToolError saying what to do: the kind
 * cluster is not up, or an existing cluster's kubeconfig is kept only as encrypted config (then
 * `byHand` says what to run with the file `f` it is written to).
 */
export function clusterAccess(env: string, { cluster }: Settings, root: string, byHand: string): ClusterAccess {
  if (cluster.kind === "existing" && !cluster.kubeconfigPath) {
    throw new ToolError(
      `the ${env} stack's kubeconfig is encrypted config: write it to a file (npm run -s pulumi -- stack output --stack ${env} kubeconfig --show-secrets > f) and ${byHand}`,
    );
  }
  const kubeconfigPath = cluster.kind === "existing" ? cluster.kubeconfigPath! : path.join(root, cluster.kubeconfigFile);
  if (!fs.existsSync(kubeconfigPath)) {
    throw new ToolError(`the ${env} cluster is not up: no kubeconfig at ${path.relative(root, kubeconfigPath)} (run npm run up -- ${env})`);
  }
  return { kubeconfigPath, ...(cluster.kind === "existing" && cluster.context !== undefined && { context: cluster.context }) };
}

/** The kubeconfig of an environment's cluster, loaded, on its context; and the API server's address, for messages. */
export function loadClusterConfig({ kubeconfigPath, context }: ClusterAccess): { config: KubeConfig; server: string } {
  const config = new KubeConfig();
  config.loadFromFile(kubeconfigPath);
  if (context !== undefined) config.setCurrentContext(context);
  return { config, server: config.getCurrentCluster()?.server ?? "(no server in the kubeconfig)" };
}

/**
 * What to say when a request to the cluster got no answer at all; undefined for an answer of the
 * API server. fetch reports transport failures as "fetch failed" with the reason in `cause`.
 */
export function unreachableCluster(error: unknown, server: string, env: string): string | undefined {
  const { message, cause } = error as { message?: string; cause?: { code?: string; message?: string } };
  if (message !== "fetch failed") return undefined;
  const reason = cause?.code ?? cause?.message ?? "no answer";
  return `cannot reach the ${env} cluster at ${server} (${reason}): is Docker running and the cluster listed by \`kind get clusters\`?`;
}
