// npm run mirrors -- status | up | down [--keep-cache]
// The machine's pull-through mirrors (cluster.mirrors): which run, what they hold and how big it
// is; starting them again for running clusters; and, on request only, their removal. A new
// cluster's `up` starts them; no environment owns or removes them. doctor reports them
// through mirrorChecks.
import * as path from "node:path";
import { interpreter } from "../infra/shell/bash.ts";
import { mirrorsVariable, nodeRegistryFunction, useMirrorsFunction } from "../infra/shell/nodeRegistries.ts";
import { registryMirrors } from "../infra/settings/index.ts";
import { helpText, parseCommandLine, runMain, say, usageFailure, UsageError, type Io, type ToolHelp } from "./cli.ts";
import { validEnvironments } from "./environments.ts";
import { kindClusters, localMachine, type Machine } from "./machine.ts";
import type { CheckResult } from "./preflight.ts";

export const help: ToolHelp = {
  command: "mirrors",
  summary:
    "The machine's pull-through registry mirrors (cluster.mirrors), shared by every kind environment: status shows which run, what they hold and how big it is; up starts them again for running clusters; down removes them (a new cluster's up starts them; no environment removes them).",
  arguments: "status|up|down",
  options: [["--keep-cache", "with down: keep the cached images for the next up"]],
  examples: ["npm run mirrors -- status", "npm run mirrors -- down --keep-cache"],
  takesEnvironments: false,
};

type Mirror = (typeof registryMirrors)[number];

/** One mirror as Docker sees it. */
export interface MirrorState {
  readonly mirror: Mirror;
  /**
   * `restarting`: it keeps crashing (offline, distribution's proxy exits when it cannot reach its
   * registry) and Docker starts it again; Docker may say "running" between two crashes.
   */
  readonly state: "running" | "restarting" | "stopped" | "absent";
  /** How often Docker restarted it after a crash. */
  readonly restarts: number;
  /** Whether it pulls from its registry as a user (REGISTRY_PROXY_USERNAME set). */
  readonly authenticated: boolean;
}

/** Each mirror's state; undefined when Docker does not answer. */
export async function mirrorStates(machine: Machine): Promise<MirrorState[] | undefined> {
  const info = await machine.run("docker", ["info", "--format", "{{.ServerVersion}}"]);
  if (!info.found || info.exitCode !== 0) return undefined;
  return Promise.all(
    registryMirrors.map(async (mirror): Promise<MirrorState> => {
      const inspected = await machine.run("docker", [
        "container",
        "inspect",
        "--format",
        "{{.State.Running}} {{.State.Restarting}} {{.RestartCount}} {{range .Config.Env}}{{.}} {{end}}",
        mirror.container,
      ]);
      if (inspected.exitCode !== 0) return { mirror, state: "absent", restarts: 0, authenticated: false };
      const [running, restarting, restarts, ...environment] = inspected.stdout.trim().split(/\s+/);
      return {
        mirror,
        state: restarting === "true" ? "restarting" : running === "true" ? "running" : "stopped",
        restarts: Number(restarts) || 0,
        authenticated: ["USERNAME", "PASSWORD"].every((part) =>
          environment.some((variable) => new RegExp(`^REGISTRY_PROXY_${part}=.`).test(variable)),
        ),
      };
    }),
  );
}

/**
 * What one mirror fetched from its registry since it started: manifests (an image's index and
 * its platform's manifest each count: not Docker Hub's pulls, which test/e2e/report.ts estimates)
 * and blobs.
 */
export interface UpstreamFetches {
  readonly manifests: number;
  readonly blobs: number;
}

/**
 * Each running mirror's fetches from upstream: the cache misses of its proxy metrics
 * (distribution's registry_proxy_misses_total, on its debug address). Undefined for a mirror
 * that does not run or does not answer.
 */
export async function upstreamFetches(machine: Machine): Promise<Record<string, UpstreamFetches | undefined>> {
  const entries = await Promise.all(
    registryMirrors.map(async (mirror) => {
      const metrics = await machine.run("docker", ["exec", mirror.container, "wget", "-qO-", "http://127.0.0.1:5001/metrics"]);
      if (metrics.exitCode !== 0) return [mirror.registry, undefined] as const;
      const misses = (type: string) =>
        Number(new RegExp(`^registry_proxy_misses_total\\{type="${type}"\\} ([0-9.e+]+)$`, "m").exec(metrics.stdout)?.[1] ?? 0);
      return [mirror.registry, { manifests: misses("manifest"), blobs: misses("blob") }] as const;
    }),
  );
  return Object.fromEntries(entries);
}

/** Whether `docker login` has stored credentials for Docker Hub (config.json auths or credHelpers). */
async function dockerHubLogin(machine: Machine, env: NodeJS.ProcessEnv): Promise<boolean> {
  const directory = env.DOCKER_CONFIG ?? path.join(env.HOME ?? "~", ".docker");
  const text = await machine.readFile(path.join(directory, "config.json"));
  try {
    const config = JSON.parse(text ?? "{}") as { auths?: Record<string, unknown>; credHelpers?: Record<string, unknown> };
    return [...Object.keys(config.auths ?? {}), ...Object.keys(config.credHelpers ?? {})].some((server) =>
      /(^|\/\/)(index\.)?docker\.io(\/|$)/.test(server),
    );
  } catch {
    return false;
  }
}

/** doctor's lines about the mirrors, for environments that use them. */
export async function mirrorChecks(machine: Machine, env: NodeJS.ProcessEnv): Promise<CheckResult[]> {
  const states = await mirrorStates(machine);
  if (states === undefined) return []; // the docker check already says Docker does not answer
  const running = states.filter((state) => state.state === "running");
  const results: CheckResult[] = [
    running.length === 0
      ? { name: "mirrors", status: "ok", detail: "not started yet: the next npm run up starts them (npm run mirrors -- status)" }
      : {
          name: "mirrors",
          status: "ok",
          detail: `${running.length} of ${states.length} running (${running.map((state) => state.mirror.registry).join(", ")}): npm run mirrors -- status`,
        },
  ];
  for (const { mirror, restarts } of states.filter((state) => state.state === "restarting")) {
    results.push({
      name: "mirrors",
      status: "warn",
      detail: `the mirror of ${mirror.registry} keeps restarting (${restarts} restarts): it cannot reach ${mirror.upstream} (is this machine offline?), so the nodes pull from it directly — once online it starts by itself; then npm run mirrors -- up points the clusters' nodes at it again`,
    });
  }
  const hub = states.find((state) => state.mirror.registry === "docker.io")!;
  const mirrorAnonymous = hub.state === "absent" ? !env.DOCKER_HUB_USERNAME : !hub.authenticated;
  const hostAnonymous = !(await dockerHubLogin(machine, env));
  if (mirrorAnonymous || hostAnonymous) {
    const fixes = [
      ...(hostAnonymous ? ["docker login (for this machine's own pulls)"] : []),
      ...(mirrorAnonymous
        ? [
            `export DOCKER_HUB_USERNAME and DOCKER_HUB_TOKEN (a read-only access token), then ${hub.state === "absent" ? "npm run up" : "npm run mirrors -- down and npm run mirrors -- up"}, so the mirror pulls as you; nothing is written into the project`,
          ]
        : []),
    ];
    results.push({
      name: "dockerhub",
      status: "warn",
      detail: `${[hostAnonymous ? "this machine" : "", mirrorAnonymous ? "the Docker Hub mirror" : ""].filter(Boolean).join(" and ")} pull${hostAnonymous && mirrorAnonymous ? "" : "s"} from Docker Hub anonymously: 10 pulls per hour per IP address — ${fixes.join("; ")}`,
    });
  }
  return results;
}

async function run(machine: Machine, args: string[]): Promise<{ ok: boolean; stdout: string }> {
  const result = await machine.run("docker", args);
  return { ok: result.exitCode === 0, stdout: result.stdout };
}

async function status(machine: Machine, io: Io, states: readonly MirrorState[]): Promise<void> {
  const rows = [["registry", "container", "state", "images", "size"]];
  for (const { mirror, state, restarts, authenticated } of states) {
    let images = "-";
    let size = "-";
    if (state === "running") {
      const catalog = await run(machine, ["exec", mirror.container, "wget", "-qO-", "http://localhost:5000/v2/_catalog?n=1000"]);
      try {
        images = String((JSON.parse(catalog.stdout) as { repositories?: string[] }).repositories?.length ?? 0);
      } catch {
        images = "?";
      }
      const used = await run(machine, ["exec", mirror.container, "du", "-sk", "/var/lib/registry"]);
      const kib = Number(used.stdout.trim().split(/\s+/)[0]);
      size = used.ok && Number.isFinite(kib) ? `${(kib / 1024).toFixed(1)} MiB` : "?";
    }
    const label =
      state === "running" && mirror.registry === "docker.io"
        ? `running, ${authenticated ? "as a user" : "anonymous"}`
        : state === "restarting"
          ? `restarting (${restarts} restarts)`
          : state;
    rows.push([mirror.registry, mirror.container, label, images, size]);
  }
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  for (const row of rows)
    say(
      io.stdout,
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join("  ")
        .trimEnd(),
    );
}

async function down(machine: Machine, io: Io, states: readonly MirrorState[], keepCache: boolean): Promise<boolean> {
  let ok = true;
  for (const { mirror, state } of states) {
    if (state !== "absent") {
      const removed = await run(machine, ["rm", "--force", mirror.container]);
      say(io.stderr, `gitops: ${removed.ok ? "removed" : "could not remove"} mirror ${mirror.container}`);
      ok &&= removed.ok;
    }
    if (!keepCache) {
      // Gone already, or never made: both fine.
      const volume = await run(machine, ["volume", "rm", "--force", mirror.container]);
      ok &&= volume.ok;
    }
  }
  say(
    io.stderr,
    `gitops: the mirrors are gone${keepCache ? " (their caches kept)" : ", caches too"}; running clusters pull directly until npm run mirrors -- up (or a new cluster's up) starts them again`,
  );
  return ok;
}

/** A running kind cluster of an environment that pulls through the mirrors. */
export interface MirroredCluster {
  readonly env: string;
  readonly name: string;
}

/** The running kind clusters of the environments (in `root`) that pull through the mirrors. */
async function mirroredClusters(machine: Machine, root: string): Promise<MirroredCluster[]> {
  const running = (await kindClusters(machine)) ?? [];
  return validEnvironments(root).flatMap(({ name: env, settings: { cluster } }) =>
    cluster.kind === "kind" && cluster.mirrors && running.includes(cluster.name) ? [{ env, name: cluster.name }] : [],
  );
}

/**
 * The bash of `mirrors up`: starts every mirror that does not run, then points the nodes of each
 * of `clusters` at the mirrors that answer (as a new cluster's `up` does): a cluster made while
 * a mirror was down pulls through it again. Exit 1 when something did not work out.
 */
export function mirrorsUpScript(clusters: readonly MirroredCluster[]): string {
  return [
    "set -uo pipefail",
    nodeRegistryFunction,
    useMirrorsFunction,
    `MIRRORS='${mirrorsVariable}'`,
    "failed=0",
    ...registryMirrors.map((mirror) => `start_mirror ${mirror.registry} ${mirror.container} ${mirror.upstream} || failed=1`),
    ...clusters.map((cluster) => `KIND_CLUSTER_NAME=${cluster.name} PULUMI_STACK_NAME=${cluster.env} use_mirrors || failed=1`),
    'exit "$failed"',
  ].join("\n");
}

/** Starts the mirrors that do not run, with the functions a new cluster's `up` uses, and points running clusters at them. */
async function up(machine: Machine, io: Io): Promise<boolean> {
  if ((await machine.run("docker", ["network", "inspect", "kind"])).exitCode !== 0) {
    say(io.stderr, "gitops: there is no kind network yet: the first npm run up starts the mirrors with its cluster");
    return false;
  }
  const clusters = await mirroredClusters(machine, io.root);
  // Messages on stdout: the machine boundary hands back stdout only.
  const [shell, ...flags] = interpreter;
  const result = await machine.run(shell!, [...flags, `{ ${mirrorsUpScript(clusters)}\n} 2>&1`]);
  if (result.stdout.trim() !== "") say(io.stderr, result.stdout.trimEnd());
  const pointed = clusters.length === 0 ? "" : `; the nodes of ${clusters.map((cluster) => cluster.name).join(", ")} pull through them`;
  say(
    io.stderr,
    `gitops: ${result.exitCode === 0 ? `the mirrors run${pointed}` : "not every mirror started, or not every cluster follows them (above)"}`,
  );
  return result.exitCode === 0;
}

export async function main(argv: readonly string[], io: Io, machine: Machine = localMachine(5 * 60_000, io.env)): Promise<number> {
  let command: string;
  let keepCache: boolean;
  try {
    const { values, positionals } = parseCommandLine(argv, { "keep-cache": { type: "boolean", default: false } });
    if (values.help) {
      say(io.stdout, helpText(help));
      return 0;
    }
    if (positionals.length !== 1 || !["status", "up", "down"].includes(positionals[0]!)) {
      throw new UsageError(positionals.length === 0 ? "status, up or down?" : `unknown command ${positionals.join(" ")}`);
    }
    command = positionals[0]!;
    keepCache = values["keep-cache"];
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return usageFailure(io, help, error.message);
  }
  const states = await mirrorStates(machine);
  if (states === undefined) {
    say(io.stderr, "gitops: Docker does not answer (docker info): start Docker, or install it (npm run doctor)");
    return 1;
  }
  if (command === "status") {
    await status(machine, io, states);
    return 0;
  }
  if (command === "up") return (await up(machine, io)) ? 0 : 1;
  return (await down(machine, io, states, keepCache)) ? 0 : 1;
}

if (import.meta.main) runMain(main);
