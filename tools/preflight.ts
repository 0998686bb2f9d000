// Preflight: is this machine ready for the stacks? Every check reads the machine through the
// `Machine` boundary, so tests decide which executables exist and what they print.
import { publishedPorts, type Settings } from "../infra/settings/index.ts";
import { kindClusters, probeTimeoutMs, type Machine } from "./machine.ts";
import { pinnedPulumiVersion, type PulumiCli } from "./pulumiCli.ts";
import { meetsFloor, nodeFloor } from "./requireNode.cjs";

export type CheckStatus = "ok" | "warn" | "fail";

export interface CheckResult {
  readonly name: string;
  readonly status: CheckStatus;
  /** One line: what was found, or what is wrong and the command or link that fixes it. */
  readonly detail: string;
}

/** What the selected environments need from the machine. */
export interface Needs {
  /** Environments that create a kind cluster (they need Docker and kind). */
  readonly kindClusters: readonly { readonly env: string; readonly name: string }[];
  readonly hostPorts: readonly { readonly env: string; readonly address: string; readonly port: number; readonly setting: string }[];
  /** Environments whose local Git server `up` fills from this checkout (they need git and a commit). */
  readonly gitServers?: readonly string[];
}

/**
 * What the checks are for: `up` creates clusters (all of them at once with --all); `destroy`
 * deletes them (Docker and kind, nothing else); `preview` touches no cluster; `doctor` reports
 * everything any of them could need.
 */
export type Purpose = "doctor" | "up" | "preview" | "destroy";

/** package.json's engines.node: undici 8 (through @kubernetes/client-node) needs 22.19. */
export const minimumNode = nodeFloor();
export const minimumKind = { major: 0, minor: 32 };
/** pulumi/pulumi#23818: a replaced kind cluster takes its objects with it, no one-by-one deletes. */
export const minimumPulumi = { major: 3, minor: 260 };
export const inotifyMinimums = { max_user_watches: 524288, max_user_instances: 512 };

const links = {
  node: "https://nodejs.org/en/download",
  docker: "https://docs.docker.com/get-docker/",
  kind: "https://kind.sigs.k8s.io/docs/user/quick-start/#installation",
  kubectl: "https://kubernetes.io/docs/tasks/tools/",
  inotify: "https://kind.sigs.k8s.io/docs/user/known-issues/#pod-errors-due-to-too-many-open-files",
  binfmt: "https://docs.docker.com/build/building/multi-platform/#qemu",
};

const ok = (name: string, detail: string): CheckResult => ({ name, status: "ok", detail });
const warn = (name: string, detail: string): CheckResult => ({ name, status: "warn", detail });
const fail = (name: string, detail: string): CheckResult => ({ name, status: "fail", detail });

export function checkNode(machine: Machine): CheckResult {
  return meetsFloor(machine.nodeVersion, minimumNode)
    ? ok("node", machine.nodeVersion)
    : fail("node", `${machine.nodeVersion} is too old: need ${minimumNode} or newer — ${links.node}`);
}

/** A probe that never answered: say so, rather than guess why. */
const timedOut = (name: string, command: string, advice: string): CheckResult =>
  fail(name, `\`${command}\` did not answer within ${probeTimeoutMs / 1000}s — ${advice}`);

/** The project's pinned CLI (tools/pulumiCli.ts): downloaded on first use, or there and answering. */
export async function checkPulumi(machine: Machine, cli: PulumiCli): Promise<CheckResult> {
  if (!cli.installed) {
    return ok(
      "pulumi",
      `v${cli.version} (the project's pinned CLI) is not downloaded yet: the first npm run up|preview|destroy downloads it into ${cli.root}`,
    );
  }
  // The machine's PATH starts with the CLI's folder: `pulumi` is this CLI.
  const result = await machine.run("pulumi", ["version"]);
  if (!result.found) return fail("pulumi", `the Pulumi CLI is not in ${cli.bin} — remove ${cli.root} and run again to download it`);
  if (result.timedOut)
    return timedOut("pulumi", "pulumi version", `try again; if it hangs, remove ${cli.root} and run again to download it`);
  const version = /v?(\d+)\.(\d+)\.(\d+)/.exec(result.stdout);
  if (result.exitCode !== 0 || !version)
    return fail("pulumi", `\`pulumi version\` failed — remove ${cli.root} and run again to download it`);
  const [major, minor] = [Number(version[1]), Number(version[2])];
  if (major < minimumPulumi.major || (major === minimumPulumi.major && minor < minimumPulumi.minor)) {
    return warn(
      "pulumi",
      `${result.stdout.trim()} is older than v${minimumPulumi.major}.${minimumPulumi.minor}.0: changing a cluster's shape would delete its objects one by one (docs/troubleshooting.md) — unset PULUMI_VERSION to use the project's v${pinnedPulumiVersion}`,
    );
  }
  return ok(
    "pulumi",
    `${result.stdout.trim()} (${cli.version === pinnedPulumiVersion ? "the project's pinned CLI" : "PULUMI_VERSION"}, in ${cli.bin})`,
  );
}

export async function checkDocker(machine: Machine): Promise<CheckResult> {
  // `docker info` needs the daemon; `docker --version` would only prove the client.
  const result = await machine.run("docker", ["info", "--format", "{{.ServerVersion}}"]);
  if (!result.found) return fail("docker", `Docker is not installed — ${links.docker}`);
  if (result.timedOut)
    return timedOut("docker", "docker info", "the daemon may still be starting or be hung: wait and try again, or restart Docker");
  if (result.exitCode !== 0) {
    // Docker's own words first: they tell a stopped daemon from a socket this user may not use.
    const said = result.stderr
      ?.split("\n")
      .map((line) => line.trim())
      .find((line) => line !== "");
    const docker = said === undefined ? "" : `: ${said}`;
    if (said !== undefined && /permission denied/i.test(said)) {
      return fail(
        "docker",
        `Docker refuses this user${docker} — add yourself to the docker group (sudo usermod -aG docker "$USER", then log in again), or use Docker Desktop`,
      );
    }
    return fail(
      "docker",
      `the Docker daemon is not reachable (the client is installed)${docker} — start Docker Desktop, or: sudo systemctl start docker`,
    );
  }
  return ok("docker", `engine ${result.stdout.trim()}`);
}

export async function checkKind(machine: Machine): Promise<CheckResult> {
  const result = await machine.run("kind", ["version"]);
  if (!result.found) return fail("kind", `kind is not installed — ${links.kind}`);
  if (result.timedOut) return timedOut("kind", "kind version", "try again; if it hangs, reinstall it");
  const version = /v(\d+)\.(\d+)\.(\d+)/.exec(result.stdout);
  if (result.exitCode !== 0 || !version) return fail("kind", `\`kind version\` failed — reinstall: ${links.kind}`);
  const [major, minor] = [Number(version[1]), Number(version[2])];
  if (major < minimumKind.major || (major === minimumKind.major && minor < minimumKind.minor)) {
    return warn(
      "kind",
      `${version[0]} is older than v${minimumKind.major}.${minimumKind.minor}.0, whose node image the stacks pin — upgrade: ${links.kind}`,
    );
  }
  return ok("kind", version[0]);
}

export async function checkKubectl(machine: Machine): Promise<CheckResult> {
  const result = await machine.run("kubectl", ["version", "--client"]);
  if (!result.found)
    return warn("kubectl", `not installed (optional: to look around, and it makes cluster creation fail fast) — ${links.kubectl}`);
  const version = /v\d+\.\d+\.\d+/.exec(result.stdout)?.[0];
  return ok("kubectl", version ?? "installed");
}

/**
 * kind's documented fix for "too many open files" (Linux only). Stock limits (Ubuntu and Fedora
 * ship 128 instances) usually carry one cluster; two at once need the raised ones. So a low
 * limit fails only when two or more clusters come up together, and is a warning otherwise.
 */
export async function checkInotify(machine: Machine, clustersTogether: number): Promise<CheckResult | undefined> {
  if (machine.platform !== "linux") return undefined;
  const low: string[] = [];
  for (const [setting, minimum] of Object.entries(inotifyMinimums)) {
    const value = Number((await machine.readFile(`/proc/sys/fs/inotify/${setting}`))?.trim());
    if (Number.isFinite(value) && value < minimum) low.push(`${setting} ${value} < ${minimum}`);
  }
  if (low.length === 0) return ok("inotify", "limits fit two clusters");
  const fix = `sudo sysctl fs.inotify.max_user_watches=${inotifyMinimums.max_user_watches} fs.inotify.max_user_instances=${inotifyMinimums.max_user_instances} (${links.inotify})`;
  return clustersTogether >= 2
    ? fail("inotify", `limits too low for ${clustersTogether} clusters at once (${low.join(", ")}) — ${fix}`)
    : warn("inotify", `limits fit one cluster, not two at once (${low.join(", ")}); up --all would stop here — ${fix}`);
}

/** An entry of /proc/sys/fs/binfmt_misc that runs x86-64 ELF binaries (QEMU or Rosetta), when enabled. */
export function emulatesAmd64(entry: string): boolean {
  const lines = entry.split("\n").map((line) => line.trim());
  const magic = lines.find((line) => line.startsWith("magic "))?.slice("magic ".length) ?? "";
  // ELF, 64-bit, little-endian, ..., e_machine 0x3e (x86-64) at byte 18.
  return lines[0] === "enabled" && magic.startsWith("7f454c46020101") && magic.slice(36, 40) === "3e00";
}

/**
 * The demo image is amd64 only (built in 2020 by a plain `docker build`). An arm64 Linux host
 * runs it only with amd64 emulation registered in binfmt_misc; without it the server pods crash
 * with "exec format error". Docker Desktop (macOS, Windows) emulates amd64 by itself.
 */
export async function checkAmd64Emulation(machine: Machine): Promise<CheckResult | undefined> {
  if (machine.platform !== "linux" || machine.arch !== "arm64") return undefined;
  const directory = "/proc/sys/fs/binfmt_misc";
  const entries = (await machine.listDirectory(directory)).filter((entry) => entry !== "status" && entry !== "register");
  for (const entry of entries) {
    if (emulatesAmd64((await machine.readFile(`${directory}/${entry}`)) ?? "")) return ok("amd64", `emulated (binfmt_misc ${entry})`);
  }
  return warn(
    "amd64",
    `this arm64 host cannot run amd64 images, and the demo server image is amd64 only (its pods would crash: exec format error) — register emulation: docker run --privileged --rm tonistiigi/binfmt --install amd64 (${links.binfmt})`,
  );
}

/** Host ports of clusters that do not run yet must be free; a running cluster holds its own. */
export async function checkHostPorts(machine: Machine, needs: Needs, runningClusters: readonly string[]): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const { env, address, port, setting } of needs.hostPorts) {
    const cluster = needs.kindClusters.find((candidate) => candidate.env === env);
    if (cluster && runningClusters.includes(cluster.name)) continue;
    if (!(await machine.portFree(address, port))) {
      results.push(
        fail("ports", `${address}:${port} (${env}: ${setting}) is in use — stop what listens there, or choose another port in ${setting}`),
      );
    }
  }
  return results;
}

/** Runs at once every check `purpose` needs; none needs a cluster. */
/**
 * The checkout a local Git server is filled from (`up`'s create script checks the same, later,
 * inside Pulumi): git on PATH, a commit, not a shallow clone.
 */
export async function checkGitCheckout(machine: Machine, root: string, environments: readonly string[]): Promise<CheckResult> {
  const which = `${environments.join(", ")}: the local Git server is filled from this checkout`;
  const version = await machine.run("git", ["--version"]);
  if (!version.found) return fail("git", `git is not installed (${which}) — install git`);
  const head = await machine.run("git", ["-C", root, "rev-parse", "--verify", "--quiet", "HEAD"]);
  if (head.exitCode !== 0) {
    return fail(
      "git",
      `this project folder is not a Git repository with a commit (${which}) — git init && git add -A && git commit -m 'GitOps demo'`,
    );
  }
  const shallow = await machine.run("git", ["-C", root, "rev-parse", "--is-shallow-repository"]);
  if (shallow.stdout.trim() === "true") return fail("git", `this checkout is shallow (${which}) — git fetch --unshallow`);
  return ok(
    "git",
    `${version.stdout.trim()}; commit ${head.stdout.trim().slice(0, 7)} fills the local Git server of ${environments.join(", ")}`,
  );
}

export async function preflight(
  machine: Machine,
  needs: Needs,
  purpose: Purpose,
  pulumi: PulumiCli,
  root?: string,
): Promise<CheckResult[]> {
  // preview touches no cluster: it needs neither Docker nor kind.
  const usesKind = needs.kindClusters.length > 0 && purpose !== "preview";
  const creates = usesKind && (purpose === "up" || purpose === "doctor");
  const runningClusters = creates ? kindClusters(machine).then((names) => names ?? []) : Promise.resolve([]);
  const none = Promise.resolve(undefined);
  const results = await Promise.all([
    Promise.resolve(checkNode(machine)),
    checkPulumi(machine, pulumi),
    usesKind ? checkDocker(machine) : none,
    usesKind ? checkKind(machine) : none,
    checkKubectl(machine),
    creates ? checkInotify(machine, purpose === "up" ? needs.kindClusters.length : 1) : none,
    creates ? checkAmd64Emulation(machine) : none,
    creates ? runningClusters.then((running) => checkHostPorts(machine, needs, running)) : none,
    creates && needs.gitServers && root !== undefined ? checkGitCheckout(machine, root, needs.gitServers) : none,
  ]);
  return results.flat().filter((result): result is CheckResult => result !== undefined);
}

/** What the environments' settings ask of the machine. */
export function needsOf(environments: readonly { readonly name: string; readonly settings: Settings }[]): Needs {
  const clusters: { env: string; name: string }[] = [];
  const hostPorts: { env: string; address: string; port: number; setting: string }[] = [];
  const gitServers: string[] = [];
  for (const { name: env, settings } of environments) {
    if (settings.cluster.kind !== "kind") continue;
    clusters.push({ env, name: settings.cluster.name });
    for (const mapping of settings.cluster.extraPortMappings)
      hostPorts.push({ env, address: mapping.listenAddress, port: mapping.hostPort, setting: "cluster.extraPortMappings" });
    for (const { hostPort, setting } of publishedPorts(settings.cluster))
      hostPorts.push({ env, address: "127.0.0.1", port: hostPort, setting });
    if (settings.cluster.gitServer) gitServers.push(env);
  }
  return { kindClusters: clusters, hostPorts, ...(gitServers.length > 0 && { gitServers }) };
}

/** One line per check; failed ones say what is wrong and how to fix it. */
export function formatResults(results: readonly CheckResult[]): string {
  const label: Record<CheckStatus, string> = { ok: "ok  ", warn: "warn", fail: "FAIL" };
  return results.map((result) => `${label[result.status]}  ${result.name.padEnd(8)} ${result.detail}`).join("\n");
}
