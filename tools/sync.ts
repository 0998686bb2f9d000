// npm run sync -- <env> [--timeout 3m]
// The demo's `fluxctl sync`: ask Flux to fetch the environment's Git repository and apply it
// now, and wait for the result. Uses the flux CLI when it is installed; otherwise it sets
// reconcile.fluxcd.io/requestedAt on the GitRepository and Kustomization itself.
import { spawn } from "node:child_process";
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { syncName } from "../infra/settings/index.ts";
import {
  helpText,
  parseCommandLine,
  reported,
  runMain,
  say,
  theEnvironment,
  ToolError,
  usageFailure,
  UsageError,
  type Io,
  type Output,
  type ToolHelp,
} from "./cli.ts";
import { clusterAccess, loadClusterConfig, unreachableCluster, type ClusterAccess } from "./clusterApi.ts";
import { listEnvironments, loadEnvironment } from "./environments.ts";
import { localMachine, type Machine } from "./machine.ts";

export const help: ToolHelp = {
  command: "sync",
  summary:
    "Makes Flux fetch the environment's Git repository and apply it now (the talk's fluxctl sync), instead of at its next interval; waits until both are done and says which commit was applied.",
  arguments: "<env>",
  options: [["--timeout DURATION", "how long to wait for Flux (default 3m; 90s, 3m, 1m30s)"]],
  examples: ["npm run sync -- dev", "npm run sync -- prod --timeout 5m"],
  takesEnvironments: true,
};

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
  const unreachable = unreachableCluster(error, server, env);
  if (unreachable !== undefined) return unreachable;
  // The API's answers carry a status code.
  const { message, code } = error as { message?: string; code?: unknown };
  if (code === 404) return `Flux's ${syncName} sync objects do not exist on the ${env} cluster: run npm run up -- ${env}`;
  return message ?? String(error);
}

/** Where the stack's Flux runs. */
interface SyncTarget extends ClusterAccess {
  readonly namespace: string;
}

async function reconcileThroughApi(
  target: SyncTarget,
  env: string,
  timing: { timeoutMs: number; pollIntervalMs: number },
  log: Output,
): Promise<void> {
  const { timeoutMs, pollIntervalMs } = timing;
  const { namespace } = target;
  const { config, server } = loadClusterConfig(target);
  const api = config.makeApiClient(CustomObjectsApi);
  const request = async <T>(call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (error) {
      throw new ToolError(describeRequestError(error, server, env));
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
    say(log, `gitops: asked Flux to reconcile ${object.kind} ${syncName} now (reconcile.fluxcd.io/requestedAt=${requestedAt})`);
    let lastText = "";
    for (;;) {
      const found = (await request(() => api.getNamespacedCustomObject({ ...object, namespace, name: syncName }))) as { status?: Status };
      const state = reconcileState(found.status, requestedAt, revision);
      if (state.text !== lastText) say(log, `gitops: [${Math.round((Date.now() - started) / 1000)}s] ${object.kind} ${state.text}`);
      lastText = state.text;
      if (state.failed) throw new ToolError(`${object.kind} ${syncName} ${state.text}`);
      if (state.done) return state.revision;
      if (Date.now() - started > timeoutMs)
        throw new ToolError(`Flux did not finish within ${timeoutMs / 1000}s (${object.kind} ${state.text})`);
      await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
    }
  };

  // In this order: the Kustomization must build from the commit the source has just fetched.
  const revision = await reconcile(gitRepository);
  await reconcile(kustomization, revision);
  say(log, `gitops: ${env} is in sync${revision ? ` at ${revision}` : ""}`);
}

function reconcileWithFluxCli({ kubeconfigPath, context, namespace }: SyncTarget, timeout: string, io: Io): Promise<number> {
  const args = ["reconcile", "kustomization", syncName, "--with-source", "--namespace", namespace, "--kubeconfig", kubeconfigPath];
  if (context !== undefined) args.push("--context", context);
  args.push("--timeout", timeout);
  say(io.stderr, `gitops: flux ${args.join(" ")}`);
  return new Promise((resolve) => {
    const child = spawn("flux", args, { env: io.env, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (chunk: Buffer) => io.stdout.write(chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => io.stderr.write(chunk.toString()));
    child.on("error", () => resolve(1));
    child.on("close", (code) => resolve(code ?? 1));
  });
}

export interface SyncDependencies {
  /** Where to look for the flux CLI. */
  readonly machine?: Machine;
  /**
   * How often to look at Flux's objects while waiting.
   * @default 1000
   */
  readonly pollIntervalMs?: number;
}

export async function main(argv: readonly string[], io: Io, dependencies: SyncDependencies = {}): Promise<number> {
  const machine = dependencies.machine ?? localMachine(undefined, io.env);
  let env: string;
  let timeout: string;
  let timeoutMs: number;
  try {
    const { values, positionals } = parseCommandLine(argv, { timeout: { type: "string", default: "3m" } });
    if (values.help) {
      say(io.stdout, helpText(help, listEnvironments(io.root)));
      return 0;
    }
    env = theEnvironment(positionals);
    timeout = values.timeout;
    const parsed = parseDuration(timeout);
    if (parsed === undefined) throw new UsageError(`--timeout ${JSON.stringify(timeout)}: must be a duration such as 90s, 3m or 1m30s`);
    timeoutMs = parsed;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return usageFailure(io, help, error.message, listEnvironments(io.root));
  }
  try {
    const { settings } = loadEnvironment(env, io.root);
    const { git } = settings;
    if (git.mode === "off")
      throw new ToolError(
        `git sync is off for ${env}: no repository configured (set git.url, or turn on cluster.gitServer, in Pulumi.${env}.yaml)`,
      );
    const target = {
      ...clusterAccess(env, settings, io.root, `run flux reconcile kustomization ${syncName} --with-source --kubeconfig f`),
      namespace: settings.namespaces.flux,
    };
    if ((await machine.run("flux", ["--version"])).found) return await reconcileWithFluxCli(target, timeout, io);
    await reconcileThroughApi(target, env, { timeoutMs, pollIntervalMs: dependencies.pollIntervalMs ?? 1000 }, io.stderr);
    return 0;
  } catch (error) {
    return reported(error, io);
  }
}

if (import.meta.main) runMain(main);
