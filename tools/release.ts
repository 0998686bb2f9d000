// npm run release -- <env> [--tag TAG] [--wait] [--timeout 10m]
// A new image, the demo's way, without a registry account: pushes the talk's image under a new
// tag into the environment's local registry (cluster.registry), says what Flux will do with it,
// and with --wait follows Flux until its ImagePolicy reports the tag (and, with image updates
// on, until Flux has pushed its commit).
import * as fs from "node:fs";
import * as path from "node:path";
import { CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import {
  considerTag,
  demoImage,
  demoSha,
  imageParts,
  newestTag,
  nextTag,
  serverImagePolicy,
  syncName,
  tagThePolicyTakes,
  type Settings,
} from "../infra/settings/index.ts";
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
import { listEnvironments, loadEnvironment } from "./environments.ts";
import { localMachine, type Machine } from "./machine.ts";
import { parseDuration } from "./sync.ts";

export const help: ToolHelp = {
  command: "release",
  summary:
    "Pushes the talk's server image under a new tag into the environment's local registry (cluster.registry), as a CI would push a release, and says what Flux does with it: its image policy picks the tag and, with image updates on, Flux commits it to Git.",
  arguments: "<env>",
  options: [
    ["--tag TAG", "the tag to push (default: the next one the environment's image policy accepts)"],
    ["--wait", "wait until Flux has picked the tag (and committed it, with image updates on)"],
    ["--timeout DURATION", "how long --wait waits (default 10m)"],
  ],
  examples: ["npm run release -- dev --wait", "npm run release -- prod --tag 1.0.1"],
  takesEnvironments: true,
};

// A Docker tag (distribution/reference): word characters, '.', '-', at most 128, not starting with '.' or '-'.
const dockerTag = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export interface ReleaseDependencies {
  /** Runs docker. */
  readonly machine?: Machine;
  /** Asks the registry for its tags (the registry API over HTTP). */
  readonly fetch?: typeof fetch;
  /** Seconds since the epoch: a master build's tag carries the time of its push. */
  readonly now?: () => number;
  /**
   * How often to look at Flux's objects with --wait.
   * @default 2000
   */
  readonly pollIntervalMs?: number;
}

/** Where the environment's registry and image are. */
interface Target {
  readonly env: string;
  readonly settings: Settings;
  /** `localhost:<port>`: where Docker on this machine pushes. */
  readonly pushHost: string;
  /** The image's path in the registry, and its tag in the stack file. */
  readonly path: string;
  readonly currentTag: string;
  /** The name images use in the cluster: `<cluster>-registry:5000`. */
  readonly clusterHost: string;
}

/** The environment's local registry, or why there is none to release into. */
function targetOf(env: string, settings: Settings): Target {
  const { cluster, server } = settings;
  if (cluster.kind !== "kind") throw new ToolError(`${env} deploys into an existing cluster: it has no local registry to release into`);
  if (!cluster.registry) {
    throw new ToolError(
      `the local registry of ${env} is off: set cluster.registry.enabled: true in Pulumi.${env}.yaml and run npm run up -- ${env} (docs/walkthrough.md, step 7)`,
    );
  }
  const { serverImage } = cluster.registry;
  if (serverImage === undefined) {
    const image = imageParts(server.image);
    // The image's own tag if the policy takes it, else the first one it takes (dev: a master build with a build time).
    const tag = tagThePolicyTakes(settings.imagePolicy, image.tag);
    throw new ToolError(
      `server.image of ${env} (${server.image}) is not on its local registry, so Flux would never see a release there: set it to ${cluster.registry.host}/${image.path}:${tag}`,
    );
  }
  return {
    env,
    settings,
    pushHost: `localhost:${cluster.registry.hostPort}`,
    path: serverImage.path,
    currentTag: serverImage.tag,
    clusterHost: cluster.registry.host,
  };
}

/** The tags the registry holds for the image; a ToolError when it does not answer. */
async function registryTags(target: Target, fetchTags: typeof fetch): Promise<string[]> {
  // 127.0.0.1, where the registry is published: `localhost` may resolve to ::1 first.
  const url = `http://127.0.0.1:${target.pushHost.split(":")[1]}/v2/${target.path}/tags/list`;
  let response: Response;
  try {
    response = await fetchTags(url, { signal: AbortSignal.timeout(10_000) });
  } catch {
    throw new ToolError(
      `the local registry of ${target.env} does not answer at ${target.pushHost}: is the environment up? (npm run up -- ${target.env})`,
    );
  }
  // A repository nothing was pushed to yet: the registry answers 404 NAME_UNKNOWN.
  if (response.status === 404) return [];
  if (!response.ok) throw new ToolError(`the local registry of ${target.env} answered ${response.status} for ${url}`);
  const body = (await response.json()) as { tags?: string[] | null };
  return body.tags ?? [];
}

/** Runs docker, saying what it does; a ToolError naming the command when it fails. */
async function docker(machine: Machine, args: string[], log: Output): Promise<void> {
  say(log, `gitops: docker ${args.join(" ")}`);
  const result = await machine.run("docker", args);
  if (!result.found) throw new ToolError("Docker is needed to push the image: docker is not on PATH");
  if (result.exitCode !== 0) throw new ToolError(`docker ${args[0]} failed (exit ${result.exitCode ?? "none"}): see its output above`);
}

/** What Flux will do with the new tag, and what the user does next. */
function nextSteps(target: Target, tag: string, tags: readonly string[]): { lines: string[]; picked: boolean } {
  const { settings, env } = target;
  const policy = serverImagePolicy(env);
  const verdict = considerTag(settings.imagePolicy, tag);
  if (!verdict.considered) return { lines: [`Flux will ignore ${tag}: ${verdict.why}`], picked: false };
  const newest = newestTag(settings.imagePolicy, [...tags, tag]);
  if (newest !== tag) return { lines: [`Flux will keep ${newest}: ImagePolicy ${policy} ranks it above ${tag}`], picked: false };
  const lines = [
    `Flux will pick ${tag}: its ImagePolicy ${policy} moves to it at the next scan (imagePolicy.scanInterval ${settings.imagePolicy.scanInterval}; ` +
      `now: flux reconcile image repository server -n ${settings.namespaces.flux}, or release --wait)`,
  ];
  const { git } = settings;
  const image = `${target.clusterHost}/${target.path}:${tag}`;
  if (git.mode === "off") {
    lines.push(
      `Git sync is off, so Flux cannot write the tag back: set server.image to ${image} in Pulumi.${env}.yaml, then npm run up -- ${env}`,
    );
  } else if (!git.imageUpdates) {
    lines.push(
      `image updates are off (git.imageUpdates.enabled): set server.image to ${image} in Pulumi.${env}.yaml yourself, then npm run up -- ${env}`,
    );
  } else {
    const repository = git.mode === "local" ? `the local Git server, ${git.server.hostUrl}` : git.location.url;
    lines.push(
      `then Flux commits it to ${repository} (${git.branch}) within git.imageUpdates.interval ${git.imageUpdates.interval}: ${rollOut(settings)} rolls it out`,
    );
  }
  return { lines, picked: true };
}

/** What the user runs once Flux has committed a tag: fetch the commit into this checkout, then update. */
function rollOut({ git, stack }: Settings): string {
  // The local server is a remote of its own, named after the environment (the stack output gitRemote).
  // --autostash: the stack file holds Pulumi's encryptionsalt since the stack was created,
  // uncommitted, and a plain pull of Flux's change to the same file would refuse to merge.
  const pull = git.mode === "local" ? `git pull --autostash ${stack} ${git.branch}` : "git pull --autostash";
  return `${pull} && npm run up -- ${stack}`;
}

type Condition = { type: string; status: string; reason?: string; message?: string };

/** Follows Flux until the ImagePolicy reports `tag` (and, with image updates on, Flux pushed its commit). */
async function follow(target: Target, tag: string, pushedAt: Date, timing: { timeoutMs: number; pollIntervalMs: number }, io: Io) {
  const { settings, env } = target;
  if (settings.cluster.kind !== "kind") return;
  const kubeconfigPath = path.join(io.root, settings.cluster.kubeconfigFile);
  if (!fs.existsSync(kubeconfigPath))
    throw new ToolError(`the ${env} cluster is not up: no kubeconfig at ${settings.cluster.kubeconfigFile}`);
  const config = new KubeConfig();
  config.loadFromFile(kubeconfigPath);
  const api = config.makeApiClient(CustomObjectsApi);
  const namespace = settings.namespaces.flux;
  const started = Date.now();
  const request = async <T>(what: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (error) {
      throw new ToolError(`${what}: ${(error as Error).message}`);
    }
  };
  const image = { group: "image.toolkit.fluxcd.io", version: "v1", namespace };
  /** Asks Flux to act on `name` now, as `flux reconcile` does. */
  const hurry = (plural: string, name: string) =>
    request(`asking Flux to reconcile ${plural}/${name}`, () =>
      api.patchNamespacedCustomObject(
        { ...image, plural, name, body: { metadata: { annotations: { "reconcile.fluxcd.io/requestedAt": new Date().toISOString() } } } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      ),
    );
  /** Polls `plural/name` until `done` says what it reached; prints each new state. */
  const waitFor = async (
    plural: string,
    name: string,
    state: (status: Record<string, unknown> | undefined) => { done: boolean; text: string },
  ) => {
    let last = "";
    for (;;) {
      const found = (await request(`reading ${plural}/${name}`, () => api.getNamespacedCustomObject({ ...image, plural, name }))) as {
        status?: Record<string, unknown>;
      };
      const now = state(found.status);
      if (now.text !== last) say(io.stderr, `gitops: [${Math.round((Date.now() - started) / 1000)}s] ${now.text}`);
      last = now.text;
      if (now.done) return;
      if (Date.now() - started > timing.timeoutMs) throw new ToolError(`gave up after ${timing.timeoutMs / 1000}s: ${now.text}`);
      await new Promise((resolve) => setTimeout(resolve, timing.pollIntervalMs));
    }
  };

  const policy = serverImagePolicy(env);
  await hurry("imagerepositories", "server");
  await waitFor("imagepolicies", policy, (status) => {
    const latest = (status?.latestRef as { tag?: string } | undefined)?.tag;
    const ready = (status?.conditions as Condition[] | undefined)?.find((condition) => condition.type === "Ready");
    if (latest === tag) return { done: true, text: `ImagePolicy ${policy} picked ${tag}` };
    return {
      done: false,
      text: `ImagePolicy ${policy} at ${latest ?? "no tag"}${ready?.status === "False" ? ` (${ready.message ?? ready.reason ?? "not ready"})` : ""}`,
    };
  });
  if (settings.git.mode === "off" || !settings.git.imageUpdates) return;
  await hurry("imageupdateautomations", syncName);
  await waitFor("imageupdateautomations", syncName, (status) => {
    const pushTime = typeof status?.lastPushTime === "string" ? new Date(status.lastPushTime) : undefined;
    if (pushTime && pushTime >= pushedAt) {
      const commit = typeof status?.lastPushCommit === "string" ? `commit ${status.lastPushCommit}` : "its commit";
      return { done: true, text: `Flux pushed ${commit}: ${rollOut(settings)}` };
    }
    return { done: false, text: "waiting for Flux to commit the new tag" };
  });
}

export async function main(argv: readonly string[], io: Io, dependencies: ReleaseDependencies = {}): Promise<number> {
  const machine = dependencies.machine ?? localMachine(5 * 60_000, io.env);
  let env: string;
  let options: { tag?: string; wait: boolean; timeoutMs: number };
  try {
    const { values, positionals } = parseCommandLine(argv, {
      tag: { type: "string" },
      wait: { type: "boolean", default: false },
      timeout: { type: "string", default: "10m" },
    });
    if (values.help) {
      say(io.stdout, helpText(help, listEnvironments(io.root)));
      return 0;
    }
    env = theEnvironment(positionals);
    const timeoutMs = parseDuration(values.timeout);
    if (timeoutMs === undefined)
      throw new UsageError(`--timeout ${JSON.stringify(values.timeout)}: must be a duration such as 90s, 10m or 1m30s`);
    if (values.tag !== undefined && !dockerTag.test(values.tag)) {
      throw new UsageError(
        `--tag ${JSON.stringify(values.tag)}: must be a Docker tag (letters, digits, '_', '.', '-'; at most 128; not starting with '.' or '-')`,
      );
    }
    options = { tag: values.tag, wait: values.wait, timeoutMs };
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return usageFailure(io, help, error.message, listEnvironments(io.root));
  }
  try {
    const target = targetOf(env, loadEnvironment(env, io.root).settings);
    const tags = await registryTags(target, dependencies.fetch ?? fetch);
    const sha = /^master-([a-f0-9]+)/.exec(target.currentTag)?.[1] ?? demoSha;
    const tag =
      options.tag ?? nextTag(target.settings.imagePolicy, tags, { sha, nowSeconds: Math.floor((dependencies.now ?? Date.now)() / 1000) });
    if (tag === undefined) {
      throw new ToolError(
        `cannot tell which tag comes after ${newestTag(target.settings.imagePolicy, tags) ?? "none"} under ${env}'s imagePolicy: give one with --tag`,
      );
    }
    if (tags.includes(tag)) throw new ToolError(`${tag} is already in the registry: Flux would see nothing new; choose another --tag`);
    const verdict = considerTag(target.settings.imagePolicy, tag);
    if (!verdict.considered && verdict.breaksPolicy) throw new ToolError(`not pushing ${tag}: ${verdict.why}`);

    const destination = `${target.pushHost}/${target.path}:${tag}`;
    say(io.stderr, `gitops: releasing ${destination}: the talk's image ${demoImage} under a new tag`);
    if ((await machine.run("docker", ["image", "inspect", demoImage])).exitCode !== 0) {
      // The talk's image is built for amd64 only.
      await docker(machine, ["pull", "--platform", "linux/amd64", demoImage], io.stderr);
    }
    await docker(machine, ["tag", demoImage, destination], io.stderr);
    const pushedAt = new Date();
    await docker(machine, ["push", destination], io.stderr);
    say(io.stdout, `${target.clusterHost}/${target.path}:${tag}`);

    const { lines, picked } = nextSteps(target, tag, tags);
    for (const line of lines) say(io.stderr, `gitops: ${line}`);
    if (options.wait && picked) {
      await follow(target, tag, pushedAt, { timeoutMs: options.timeoutMs, pollIntervalMs: dependencies.pollIntervalMs ?? 2000 }, io);
    }
    return 0;
  } catch (error) {
    return reported(error, io);
  }
}

if (import.meta.main) runMain(main);
