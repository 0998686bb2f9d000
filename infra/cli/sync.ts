// npm run sync -- <env> [--timeout 3m]
// The demo's `fluxctl sync`: ask Flux to fetch the environment's Git repository and apply it
// now, and wait for the result. Uses the flux CLI when it is installed; otherwise it sets
// reconcile.fluxcd.io/requestedAt on the GitRepository and Kustomization itself.
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { kubeconfigFile } from "../cluster";
import { ConfigurationError, projectRoot, settingsWithStackFiles } from "../config";
import { syncName } from "../gitSync";
import { loadStackConfig, StackConfigError, StackNotFoundError } from "../offline/stackConfig";
import { runMain } from "./main";

const usage = "usage: npm run sync -- <env> [--timeout 3m]";

/** A failure the user can act on: printed as one line, exit 1. */
class SyncError extends Error {}

interface FluxObject {
  readonly kind: string;
  readonly group: string;
  readonly version: string;
  readonly plural: string;
}
const gitRepository: FluxObject = { kind: "GitRepository", group: "source.toolkit.fluxcd.io", version: "v1", plural: "gitrepositories" };
const kustomization: FluxObject = { kind: "Kustomization", group: "kustomize.toolkit.fluxcd.io", version: "v1", plural: "kustomizations" };

type Condition = { type: string; status: string; reason?: string; message?: string };
type Status = { lastHandledReconcileAt?: string; conditions?: Condition[]; artifact?: { revision?: string }; lastAppliedRevision?: string };

/**
 * Where one object stands after the request at `requestedAt`. With `revision`, it is done only
 * once it has applied that revision (the Kustomization, after its source fetched it).
 */
export function reconcileState(
  status: Status | undefined,
  requestedAt: string,
  revision?: string,
): { done: boolean; failed: boolean; text: string; revision?: string } {
  const ready = status?.conditions?.find((condition) => condition.type === "Ready");
  if (status?.lastHandledReconcileAt !== requestedAt) return { done: false, failed: false, text: "waiting" };
  if (ready?.status === "False") return { done: true, failed: true, text: `failed: ${ready.reason ?? ""} ${ready.message ?? ""}`.trim() };
  const current = status.artifact?.revision ?? status.lastAppliedRevision;
  if (ready?.status === "True" && (revision === undefined || current === revision)) {
    return { done: true, failed: false, text: `ready${current ? ` at ${current}` : ""}`, revision: current };
  }
  return { done: false, failed: false, text: revision ? `applying ${revision}` : "reconciling" };
}

/** Go-style durations as the README shows them: 90s, 3m, 1m30s. */
export function parseDuration(text: string): number | undefined {
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  if (!match || text === "") return undefined;
  const [, hours = "0", minutes = "0", seconds = "0"] = match;
  return ((Number(hours) * 60 + Number(minutes)) * 60 + Number(seconds)) * 1000;
}

function describeRequestError(error: unknown, server: string, env: string): string {
  // fetch reports transport failures as "fetch failed" with the reason in `cause`; the API's answers carry a status code.
  const { message, code, cause } = error as { message?: string; code?: unknown; cause?: { code?: string; message?: string } };
  if (message === "fetch failed") {
    const reason = cause?.code ?? cause?.message ?? "no answer";
    return `cannot reach the ${env} cluster at ${server} (${reason}): is Docker running and the cluster listed by \`kind get clusters\`?`;
  }
  if (code === 404) return `Flux's ${syncName} sync objects do not exist on the ${env} cluster: run npm run up -- ${env}`;
  return message ?? String(error);
}

/** Where the stack's Flux runs. */
interface SyncTarget {
  readonly kubeconfigPath: string;
  /** A context of that kubeconfig; its current context when undefined. */
  readonly context?: string;
  readonly namespace: string;
}

async function reconcileThroughApi({ kubeconfigPath, context, namespace }: SyncTarget, env: string, timeoutMs: number): Promise<void> {
  const config = new KubeConfig();
  config.loadFromFile(kubeconfigPath);
  if (context !== undefined) config.setCurrentContext(context);
  const server = config.getCurrentCluster()?.server ?? "(no server in the kubeconfig)";
  const api = config.makeApiClient(CustomObjectsApi);
  const request = async <T>(call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (error) {
      throw new SyncError(describeRequestError(error, server, env));
    }
  };
  const started = Date.now();

  /** Asks Flux to reconcile `object` now and waits until it has; returns the revision it reached. */
  const reconcile = async (object: FluxObject, revision?: string): Promise<string | undefined> => {
    const requestedAt = new Date().toISOString();
    const annotations = { "reconcile.fluxcd.io/requestedAt": requestedAt };
    await request(() =>
      api.patchNamespacedCustomObject(
        { ...object, namespace, name: syncName, body: { metadata: { annotations } } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      ),
    );
    console.error(`gitops: asked Flux to reconcile ${object.kind} ${syncName} now (reconcile.fluxcd.io/requestedAt=${requestedAt})`);
    let lastText = "";
    for (;;) {
      const found = (await request(() => api.getNamespacedCustomObject({ ...object, namespace, name: syncName }))) as { status?: Status };
      const state = reconcileState(found.status, requestedAt, revision);
      if (state.text !== lastText) console.error(`gitops: [${Math.round((Date.now() - started) / 1000)}s] ${object.kind} ${state.text}`);
      lastText = state.text;
      if (state.failed) throw new SyncError(`${object.kind} ${syncName} ${state.text}`);
      if (state.done) return state.revision;
      if (Date.now() - started > timeoutMs) throw new SyncError(`Flux did not finish within ${timeoutMs / 1000}s (${object.kind} ${state.text})`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  };

  // In this order: the Kustomization must build from the commit the source has just fetched.
  const revision = await reconcile(gitRepository);
  await reconcile(kustomization, revision);
  console.error(`gitops: ${env} is in sync${revision ? ` at ${revision}` : ""}`);
}

function reconcileWithFluxCli({ kubeconfigPath, context, namespace }: SyncTarget, timeout: string): Promise<number> {
  const args = ["reconcile", "kustomization", syncName, "--with-source", "--namespace", namespace, "--kubeconfig", kubeconfigPath];
  if (context !== undefined) args.push("--context", context);
  args.push("--timeout", timeout);
  console.error(`gitops: flux ${args.join(" ")}`);
  return new Promise((resolve) => {
    const child = spawn("flux", args, { stdio: "inherit" });
    child.on("error", () => resolve(1));
    child.on("exit", (code) => resolve(code ?? 1));
  });
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { timeout: { type: "string", default: "3m" } } });
  } catch (error) {
    console.error(`${(error as Error).message}\n${usage}`);
    return 2;
  }
  const [env, ...extra] = parsed.positionals;
  const timeoutMs = parseDuration(parsed.values.timeout);
  if (!env || extra.length > 0 || timeoutMs === undefined) {
    console.error(usage);
    return 2;
  }
  try {
    const settings = settingsWithStackFiles(loadStackConfig(env));
    if (!settings.gitLocation) {
      throw new SyncError(`git sync is off for ${env}: no repository configured (set git.url in Pulumi.${env}.yaml)`);
    }
    const access = settings.existingCluster;
    if (access && !access.path) {
      throw new SyncError(
        `the ${env} stack's kubeconfig is encrypted config: write it to a file (pulumi stack output --stack ${env} kubeconfig --show-secrets > f) and run flux reconcile kustomization ${syncName} --with-source --kubeconfig f`,
      );
    }
    const kubeconfigPath = access?.path ?? path.join(projectRoot, kubeconfigFile(settings.cluster.name));
    if (!fs.existsSync(kubeconfigPath)) {
      throw new SyncError(`the ${env} cluster is not up: no kubeconfig at ${path.relative(projectRoot, kubeconfigPath)} (run npm run up -- ${env})`);
    }
    const target = { kubeconfigPath, context: access?.context, namespace: settings.namespaces.flux };
    if (!spawnSync("flux", ["--version"], { stdio: "ignore" }).error) {
      return await reconcileWithFluxCli(target, parsed.values.timeout);
    }
    await reconcileThroughApi(target, env, timeoutMs);
    return 0;
  } catch (error) {
    if (error instanceof StackNotFoundError) {
      console.error(`gitops: ${error.message}`);
      return 2;
    }
    if (error instanceof SyncError || error instanceof StackConfigError || error instanceof ConfigurationError) {
      console.error(`gitops: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

if (require.main === module) runMain(main);
