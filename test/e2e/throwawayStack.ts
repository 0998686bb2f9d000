// The throw-away stack: a copy of the project with a new stack made from dev's settings, its
// own state, passphrase and cluster name, and the cleanup that leaves nothing behind.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import * as YAML from "yaml";
import type { PulumiCommand, Stack } from "@pulumi/pulumi/automation/index.js";
import type { Machine } from "../../tools/machine.ts";
import type { Stopping } from "../../tools/stopping.ts";
import { baseStack, log, messageOf, progress, projectRoot } from "./common.ts";

export interface Run {
  readonly id: string;
  readonly stackName: string;
  readonly clusterName: string;
  readonly projectDir: string;
  readonly stateDir: string;
  /** The local registry's port on 127.0.0.1: a free one, so it never meets a registry of the user's. */
  readonly registryPort: number;
  /** The local Git server's port on 127.0.0.1: a free one too. */
  readonly gitPort: number;
}

/** The local Git server's repository, as a remote of the project copy. */
export const gitRemoteOf = (run: Pick<Run, "gitPort">) => `http://127.0.0.1:${run.gitPort}/gitops.git`;

/** The server image on the stack's local registry: the tag the registry is filled with on `up`. */
export const registryImageOf = (run: Pick<Run, "clusterName">) =>
  `${run.clusterName}-registry:5000/ricoberger/gitops-using-flux:master-84e319d-1580380800`;

/** dev's stack file without what belongs to dev's passphrase (salt, encrypted values). */
function stackFileFromBase(text: string): string {
  const document = YAML.parseDocument(text);
  for (const key of ["encryptionsalt", "secretsprovider", "encryptedkey"]) document.delete(key);
  const config = document.get("config");
  if (YAML.isMap(config)) {
    for (const item of [...config.items]) {
      if (YAML.isMap(item.value) && item.value.has("secure")) config.delete(item.key);
    }
  }
  return document.toString();
}

/**
 * A copy of the project as a user's clone has it, with node_modules linked, in os.tmpdir(): a Git
 * checkout (its commit is made once the stack's settings are in: createStack), since `up` fills
 * the local Git server from it.
 */
export function copyProject(stackName: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gitops-e2e-project-"));
  for (const entry of ["infra", "stacks", "Pulumi.yaml", `Pulumi.${baseStack}.yaml`, "package.json", "tsconfig.json"]) {
    fs.cpSync(path.join(projectRoot, entry), path.join(dir, entry), { recursive: true });
  }
  fs.symlinkSync(path.join(projectRoot, "node_modules"), path.join(dir, "node_modules"));
  // dev's own files too (flux-values.yaml, apps/): the stack under test is dev, under another name.
  fs.cpSync(path.join(projectRoot, "stacks", baseStack), path.join(dir, "stacks", stackName), { recursive: true });
  // The new stack starts from dev's settings.
  const baseFile = fs.readFileSync(path.join(projectRoot, `Pulumi.${baseStack}.yaml`), "utf8");
  // Its marker names its own ImagePolicy (server-<stack>), so Flux's image updates rewrite its line.
  const ownMarker = stackFileFromBase(baseFile).replace(`"flux-system:server-${baseStack}"`, `"flux-system:server-${stackName}"`);
  fs.writeFileSync(path.join(dir, `Pulumi.${stackName}.yaml`), ownMarker);
  // dev's own stack file stays out of the repository: its marker would be a second one in the
  // files Flux scans (no harm, as no policy of this cluster has dev's name, but not the user's case).
  fs.rmSync(path.join(dir, `Pulumi.${baseStack}.yaml`));
  fs.writeFileSync(path.join(dir, ".gitignore"), "node_modules\n.kube/\n.pulumi-state/\n");
  return dir;
}

/** One key of the stack file's config, as plain data. */
export function stackSetting(projectDir: string, stackName: string, key: string): Record<string, unknown> {
  const file = YAML.parse(fs.readFileSync(path.join(projectDir, `Pulumi.${stackName}.yaml`), "utf8")) as {
    config?: Record<string, unknown>;
  } | null;
  const value = file?.config?.[key];
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
}

/** Which Pulumi CLI the suite drives, and what it adds to its environment. */
export interface PulumiSetup {
  /** @default the `pulumi` on PATH */
  readonly pulumiCommand?: PulumiCommand;
  readonly env?: Readonly<Record<string, string>>;
}

/** The throw-away stack; `created` gets it as soon as it exists, so that cleanup finds it whatever happens next. */
export async function createStack(run: Run, pulumi: PulumiSetup, created: (stack: Stack) => void): Promise<Stack> {
  // Loaded here: a skipped suite must not wait for the SDK.
  const { LocalWorkspace } = await import("@pulumi/pulumi/automation/index.js");
  const stack = await LocalWorkspace.createOrSelectStack(
    { stackName: run.stackName, workDir: run.projectDir },
    {
      ...(pulumi.pulumiCommand && { pulumiCommand: pulumi.pulumiCommand }),
      envVars: {
        ...pulumi.env,
        // Its own state and passphrase: nothing of the user's stacks is read or touched.
        PULUMI_BACKEND_URL: pathToFileURL(run.stateDir).href,
        PULUMI_CONFIG_PASSPHRASE: randomBytes(24).toString("hex"),
        PULUMI_SKIP_UPDATE_CHECK: "true",
      },
    },
  );
  created(stack);
  // A unique cluster name, so the suite never collides with `npm run up -- dev`; set as the
  // structured value a user sets (--path), not as a JSON string.
  await stack.setConfig("gitops:cluster.name", { value: run.clusterName }, true);
  // Its local registry on, the server's image there: the nodes pull from it, Flux scans it,
  // and the suite releases a new tag into it (README, step 8).
  await stack.setConfig("gitops:cluster.registry.enabled", { value: "true" }, true);
  await stack.setConfig("gitops:cluster.registry.hostPort", { value: String(run.registryPort) }, true);
  await stack.setConfig("gitops:server.image", { value: registryImageOf(run) }, true);
  // Its own local Git server, on a free port, filled from the copy's commit: made now, with these settings in.
  await stack.setConfig("gitops:cluster.gitServer.hostPort", { value: String(run.gitPort) }, true);
  await commitAll(run.projectDir, "the end-to-end stack");
  return stack;
}

/** Runs git in the project copy, with an identity of its own; its output on failure. */
export async function gitIn(dir: string, ...args: string[]): Promise<string> {
  const { execFile } = await import("node:child_process");
  return new Promise((resolve, reject) =>
    execFile(
      "git",
      ["-c", "user.name=gitops e2e", "-c", "user.email=e2e@gitops.invalid", ...args],
      { cwd: dir, encoding: "utf8", env: { ...process.env, GIT_TERMINAL_PROMPT: "0" } },
      (error, stdout, stderr) => (error ? reject(new Error(`git ${args.join(" ")}: ${stderr.trim() || error.message}`)) : resolve(stdout)),
    ),
  );
}

/** Commits everything in the project copy (made a repository on first use). */
export async function commitAll(dir: string, message: string): Promise<void> {
  if (!fs.existsSync(path.join(dir, ".git"))) await gitIn(dir, "init", "--quiet", "--initial-branch", "main");
  await gitIn(dir, "add", "-A");
  await gitIn(dir, "commit", "--quiet", "--allow-empty", "-m", message);
}

/** Pulumi's output, line by line, behind a prefix. */
function prefixedOutput(prefix: string): { write: (chunk: string) => void; flush: () => void } {
  let pending = "";
  const emit = (line: string) => progress(`${prefix} | ${line}\n`);
  return {
    write(chunk) {
      const lines = (pending + chunk).split("\n");
      pending = lines.pop() ?? "";
      lines.forEach(emit);
    },
    flush() {
      if (pending !== "") emit(pending);
      pending = "";
    },
  };
}

type OperationOptions = { onOutput: (out: string) => void; onError: (err: string) => void; signal?: AbortSignal };

/**
 * Runs one Pulumi operation with its output streamed under `pulumi <name> |`. With `stopping`, a
 * stop passed on reaches it (one SIGINT: tools/stopping.ts); without, it runs to its end (cleanup).
 */
export async function pulumiOperation<T>(
  name: string,
  stopping: Stopping | undefined,
  operation: (options: OperationOptions) => Promise<T>,
): Promise<T> {
  const output = prefixedOutput(`pulumi ${name}`);
  const stoppable = stopping?.begin();
  const write = (text: string) => {
    stoppable?.operation.output(text);
    output.write(text);
  };
  try {
    return await operation({ onOutput: write, onError: write, ...(stoppable && { signal: stoppable.operation.signal }) });
  } finally {
    stoppable?.finished();
    output.flush();
  }
}

export interface State {
  stack?: Stack;
  destroyed: boolean;
}

/** Leaves nothing behind, whatever happened: each step runs even if the one before failed. */
export async function cleanup(run: Run, state: State, machine: Machine): Promise<void> {
  if (state.stack && !state.destroyed) {
    log("cleanup: destroying the stack");
    const stack = state.stack;
    // The cluster may be gone or half made: do not fail on Kubernetes objects it cannot reach.
    stack.workspace.envVars.PULUMI_K8S_DELETE_UNREACHABLE = "true";
    try {
      await pulumiOperation("cleanup destroy", undefined, (options) => stack.destroy(options));
    } catch (error) {
      log(`cleanup: destroy failed (ignored): ${messageOf(error).split("\n")[0]}`);
    }
  }
  // Safety net: kind deletes a missing cluster without error, docker rm --force a missing container.
  log(`cleanup: kind delete cluster --name ${run.clusterName}`);
  const kindDelete = await machine.run("kind", ["delete", "cluster", "--name", run.clusterName]);
  if (kindDelete.exitCode !== 0) log(`cleanup: kind delete cluster --name ${run.clusterName} failed; delete it by hand`);
  for (const container of [`${run.clusterName}-registry`, `${run.clusterName}-git`]) {
    const removed = await machine.run("docker", ["rm", "--force", "--volumes", container]);
    if (removed.exitCode !== 0) log(`cleanup: docker rm --force --volumes ${container} failed; remove it by hand`);
  }
  if (state.stack) {
    try {
      await state.stack.workspace.removeStack(run.stackName, { force: true });
    } catch (error) {
      log(`cleanup: removing stack ${run.stackName} failed (ignored): ${messageOf(error).split("\n")[0]}`);
    }
  }
  for (const dir of [run.projectDir, run.stateDir]) fs.rmSync(dir, { recursive: true, force: true });
}

/** Where kind wrote the cluster's kubeconfig in the project copy: there even when `up` failed half-way. */
export const kubeconfigOf = (run: Run) => path.join(run.projectDir, ".kube", `${run.clusterName}.yaml`);
