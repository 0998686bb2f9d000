// The suite's timings and its report (out/e2e-timings.json), and the tools it needs.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { EngineEvent } from "@pulumi/pulumi/automation/index.js";
import { dockerAnswers, localMachine } from "../../tools/machine.ts";
import { ensurePulumiCli, pulumiCli } from "../../tools/pulumiCli.ts";
import type { UpstreamFetches } from "../../tools/mirrors.ts";
import { CheckFailed, lastLines, log, messageOf, minute } from "./common.ts";
import type { Run } from "./throwawayStack.ts";

/** The machine, as doctor and the lifecycle wrapper see it (tools/machine.ts); kind's deletes and log exports take minutes. */
export const machine = localMachine(5 * minute);

/** What this machine lacks to run the suite; empty when everything is there. */
export async function missingPrerequisites(): Promise<string[]> {
  const [docker, kind] = await Promise.all(["docker", "kind"].map((tool) => machine.run(tool, ["version"])));
  const missing: string[] = [];
  // The daemon must answer: the client alone cannot run kind.
  if (!docker!.found) missing.push("Docker (docker not on PATH)");
  else if (!(await dockerAnswers(machine))) missing.push("Docker daemon (docker info failed)");
  if (!kind!.found) missing.push("kind (not on PATH)");
  // The project's Pulumi CLI, as the tools run it: downloaded on first use, once the rest is there.
  if (missing.length === 0) {
    const problem = await ensurePulumiCli(pulumiCli(process.env), log);
    if (problem !== undefined) missing.push(`pulumi (${problem})`);
  }
  return missing;
}

export type ToolVersions = Record<"kind" | "pulumi" | "docker", string>;

export async function toolVersions(): Promise<ToolVersions> {
  const version = async (command: string, args: readonly string[]) => (await machine.run(command, args)).stdout.trim() || "unknown";
  return {
    kind: await version("kind", ["version"]),
    pulumi: await version(pulumiCli(process.env).binary, ["version"]),
    docker: await version("docker", ["version", "--format", "client {{.Client.Version}}, server {{.Server.Version}}"]),
  };
}

/** A phase that failed, or that a stop ended: the message says which one, then why. */
export class PhaseFailed extends Error {
  readonly phase: string;
  readonly reason: unknown;

  constructor(phase: string, reason: unknown, stopped = false) {
    super(
      stopped
        ? `${messageOf(reason)} during ${phase}`
        : reason instanceof CheckFailed
          ? reason.message
          : `${phase} failed: ${lastLines(messageOf(reason))}`,
    );
    this.phase = phase;
    this.reason = reason;
  }
}

/** A phase that did not start: the suite had been stopped. */
export class PhaseNotStarted extends Error {
  constructor(phase: string, reason: unknown) {
    super(`${messageOf(reason)} before ${phase}`);
  }
}

export interface PhaseTiming {
  readonly phase: string;
  readonly seconds: number;
  readonly ok: boolean;
  /** The up milestones are measured from the start of `up`, not from the previous phase. */
  readonly sinceUpStart?: boolean;
}

/** The report (out/e2e-timings.json): rewritten whenever a phase starts or ends, so any stop leaves one. */
/** What the mirrors fetched from each registry during one `up` (undefined: a mirror that did not run). */
export type FetchesDuringUp = Record<string, UpstreamFetches | undefined>;

/** How many pulls Docker Hub counted, as far as manifest fetches tell. */
export interface PullEstimate {
  readonly atLeast: number;
  readonly atMost: number;
}

/**
 * Docker Hub's pulls from the Docker Hub mirror's manifest fetches. Docker Hub counts one pull
 * per image and platform; the mirror fetches a multi-platform image's index and then its
 * platform's manifest (two fetches, one pull), a single-platform image's manifest alone (one and
 * one). So N fetches are between ⌈N/2⌉ and N pulls; zero fetches are certainly zero pulls.
 */
export const dockerHubPulls = (manifestFetches: number): PullEstimate => ({
  atLeast: Math.ceil(manifestFetches / 2),
  atMost: manifestFetches,
});

/** The difference of two readings of the mirrors' counters. */
export function fetchesBetween(before: FetchesDuringUp, after: FetchesDuringUp): FetchesDuringUp {
  return Object.fromEntries(
    Object.entries(after).map(([registry, now]) => {
      const then = before[registry] ?? { manifests: 0, blobs: 0 };
      return [registry, now && { manifests: now.manifests - then.manifests, blobs: now.blobs - then.blobs }];
    }),
  );
}

export class Report {
  readonly phases: PhaseTiming[] = [];
  /** Per `up` of the run: what reached the internet through each mirror. */
  private readonly fetches: Record<string, FetchesDuringUp> = {};
  /** The phase that runs now, or the one that was running when the suite stopped. */
  private phase?: string;
  private result: Result = "running";
  private failure?: string;
  private diagnostics?: string;

  private readonly file: string;
  private readonly run: Run;
  private readonly versions: ToolVersions;
  /** Aborted when the suite is stopped: no phase starts after that, and one that ends does not count. */
  private readonly stop: AbortSignal;

  constructor(file: string, run: Run, versions: ToolVersions, stop: AbortSignal = new AbortController().signal) {
    this.file = file;
    this.run = run;
    this.versions = versions;
    this.stop = stop;
    this.write();
  }

  has(phase: string): boolean {
    return this.phases.some((timing) => timing.phase === phase);
  }

  record(phase: string, milliseconds: number, ok = true, sinceUpStart = false): void {
    this.phases.push({ phase, seconds: Math.round(milliseconds / 100) / 10, ok, ...(sinceUpStart && { sinceUpStart }) });
    this.write();
  }

  /** Runs one phase, unless the suite was stopped; its time is recorded whether it succeeds or fails. */
  async time<T>(phase: string, run: () => Promise<T>): Promise<T> {
    if (this.stop.aborted) throw new PhaseNotStarted(phase, this.stop.reason);
    const start = Date.now();
    this.phase = phase;
    this.write();
    log(`${phase}: started`);
    let result: T;
    try {
      result = await run();
    } catch (error) {
      this.record(phase, Date.now() - start, false);
      throw this.stop.aborted ? new PhaseFailed(phase, this.stop.reason, true) : new PhaseFailed(phase, error);
    }
    // An operation that ignored Ctrl-C (or the deadline) and finished anyway still does not count.
    if (this.stop.aborted) {
      this.record(phase, Date.now() - start, false);
      throw new PhaseFailed(phase, this.stop.reason, true);
    }
    this.record(phase, Date.now() - start);
    log(`${phase}: done`);
    return result;
  }

  /** Records what the mirrors fetched from upstream during `up` (a phase name). */
  recordFetches(up: string, fetches: FetchesDuringUp): void {
    this.fetches[up] = fetches;
    this.write();
  }

  /** The suite's outcome (and where the diagnostics bundle is, when one was saved). */
  finish(result: Exclude<Result, "running">, failure?: string, diagnostics?: string): void {
    this.result = result;
    this.failure = failure;
    this.diagnostics = diagnostics;
    if (result === "passed") this.phase = undefined;
    this.write();
  }

  /** Written at once (synchronously): it must survive a second Ctrl-C that exits right after. */
  write(): void {
    const report = {
      date: new Date().toISOString(),
      result: this.result,
      ...(this.phase !== undefined && { phase: this.phase }),
      ...(this.failure !== undefined && { failure: this.failure }),
      ...(this.diagnostics !== undefined && { diagnostics: this.diagnostics }),
      stack: this.run.stackName,
      cluster: this.run.clusterName,
      machine: {
        platform: os.platform(),
        arch: os.arch(),
        cpus: os.cpus().length,
        totalMemoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
      },
      versions: this.versions,
      phases: this.phases,
      ...(Object.keys(this.fetches).length > 0 && { upstreamFetches: this.fetches, warmUp: this.warmUp() }),
    };
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    fs.writeFileSync(this.file, `${JSON.stringify(report, null, 2)}\n`);
  }

  /** The second `up` against the first: the mirrors' promise (at most half the time, no Docker Hub pull). */
  private warmUp(): {
    secondToFirst?: number;
    halfTheTime?: boolean;
    dockerHubManifestFetches?: number;
    dockerHubPulls?: PullEstimate;
    noDockerHubPull?: boolean;
  } {
    const seconds = (phase: string) => this.phases.find((timing) => timing.phase === phase && timing.ok)?.seconds;
    const [first, second] = [seconds("up total"), seconds("second up total")];
    const hub = this.fetches["second up total"]?.["docker.io"]?.manifests;
    return {
      ...(first && second && { secondToFirst: Math.round((second / first) * 100) / 100, halfTheTime: second <= first / 2 }),
      ...(hub !== undefined && { dockerHubManifestFetches: hub, dockerHubPulls: dockerHubPulls(hub), noDockerHubPull: hub === 0 }),
    };
  }

  table(): string {
    const width = Math.max(...this.phases.map((timing) => timing.phase.length), "phase".length);
    const rows = this.phases.map((timing) => {
      const note = [timing.sinceUpStart ? "since up start" : "", timing.ok ? "" : "FAILED"].filter(Boolean).join(", ");
      return `${timing.phase.padEnd(width)}  ${timing.seconds.toFixed(1).padStart(8)}  ${note}`.trimEnd();
    });
    const fetchLines = Object.entries(this.fetches).map(
      ([up, fetches]) =>
        `${up}: fetched from the internet through the mirrors: ` +
        Object.entries(fetches)
          .map(([registry, counts]) => {
            if (!counts) return `${registry} (mirror not running)`;
            const pulls = dockerHubPulls(counts.manifests);
            const range = pulls.atLeast === pulls.atMost ? `${pulls.atMost}` : `${pulls.atLeast}-${pulls.atMost}`;
            const hubPulls = registry === "docker.io" ? ` (${range} Docker Hub pull${pulls.atMost === 1 ? "" : "s"})` : "";
            return `${registry} ${counts.manifests} manifest fetches${hubPulls}, ${counts.blobs} blobs`;
          })
          .join("; "),
    );
    return [`${"phase".padEnd(width)}  ${"seconds".padStart(8)}`, ...rows, ...fetchLines].join("\n");
  }
}

/** Up's milestones: the resource whose completion marks each one. */
const upMilestones: Readonly<Record<string, string>> = {
  "::cluster-kind": "cluster create",
  "::flux-instance": "Flux ready",
  "::monitoring-prometheus": "Prometheus ready",
};

/** Records a milestone when the engine reports its resource's outputs (the resource is done). */
export function milestoneRecorder(report: Report, upStart: number): (event: EngineEvent) => void {
  return (event) => {
    const urn = event.resOutputsEvent?.metadata.urn;
    if (urn === undefined) return;
    for (const [suffix, phase] of Object.entries(upMilestones)) {
      if (urn.endsWith(suffix) && !report.has(phase)) report.record(phase, Date.now() - upStart, true, true);
    }
  };
}

export type Result = "running" | "passed" | "failed" | "interrupted" | "timed out";
