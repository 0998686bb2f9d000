// The end-to-end suite's phases (test/e2e/suite.ts), run in this process against the Pulumi stub
// (through the real Automation API) and a machine whose docker and kind answer as the real ones
// do where no cluster was ever made. A failing phase leaves a diagnostics bundle and a report;
// a stop (the deadline here; signals in e2eCli.test.ts) fired at a chosen event lets no further
// phase start and still cleans up everything made before it.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import type { CommandResult } from "../tools/machine.ts";
import { Stopping } from "../tools/stopping.ts";
import { withProgress } from "./e2e/common.ts";
import { Report } from "./e2e/report.ts";
import { deadlinePassed, runSuite, type Outcome } from "./e2e/suite.ts";
import { copyProject, type Run } from "./e2e/throwawayStack.ts";
import { fakeMachine } from "./support/machine.ts";
import { until } from "./support/lifecycle.ts";
import { createPulumiStub, type PulumiStub } from "./support/pulumiStub.ts";

interface Finished {
  readonly outcome: Outcome;
  readonly report: { result: string; phase?: string; failure?: string; diagnostics?: string; phases: { phase: string; ok: boolean }[] };
  /** The Pulumi stub's calls, without what it records of the environment. */
  readonly pulumiCalls: string[];
  /** The signals the stub got. */
  readonly signals: string[];
  readonly machineCalls: string[];
  readonly run: Run;
  readonly progress: string;
  /** The diagnostics bundle's files and what they hold, when one was saved. */
  readonly bundle: Record<string, string>;
}

/**
 * Docker and kind of a machine where nothing was made: kind deletes a missing cluster without
 * error and cannot export its logs; no mirror or registry container exists.
 */
function realisticAnswer(command: string, args: readonly string[], clusterName: string): CommandResult {
  const words = [command, ...args].join(" ");
  const noSuchContainer = (name: string) => ({
    found: true,
    exitCode: 1,
    stdout: "",
    stderr: `Error response from daemon: No such container: ${name}\n`,
  });
  if (words === `kind delete cluster --name ${clusterName}`)
    return { found: true, exitCode: 0, stdout: "", stderr: `Deleting cluster "${clusterName}" ...\n` };
  if (words.startsWith("kind export logs ") && words.endsWith(`--name ${clusterName}`))
    return { found: true, exitCode: 1, stdout: "", stderr: `ERROR: unknown cluster "${clusterName}"\n` };
  if (command === "docker" && (args[0] === "exec" || args[0] === "logs")) return noSuchContainer(args[1]!);
  // docker rm --force of a missing container succeeds (docker/cli#2678), saying so on stderr.
  if (command === "docker" && args[0] === "rm" && args.includes("--force")) return { ...noSuchContainer(args.at(-1)!), exitCode: 0 };
  return { found: true, exitCode: 127, stdout: "", stderr: `no answer for ${words} in this test\n` };
}

/**
 * Runs the suite's phases against a new stub; `during(stub, stopping, started)` may stop it at an
 * event of its choosing, while the suite runs.
 */
async function runPhases(
  options: {
    stubEnv?: Record<string, string>;
    during?: (stub: PulumiStub, stopping: Stopping, running: Promise<Outcome>) => Promise<void>;
    onMachineCall?: (words: string, stub: PulumiStub, stopping: Stopping) => void;
  } = {},
): Promise<Finished> {
  const stub = createPulumiStub();
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-out-"));
  const id = randomBytes(4).toString("hex");
  const run: Run = {
    id,
    stackName: `e2e-${id}`,
    clusterName: `gitops-e2e-${id}`,
    projectDir: copyProject(`e2e-${id}`),
    stateDir: fs.mkdtempSync(path.join(os.tmpdir(), "gitops-e2e-state-")),
    registryPort: 15001,
    gitPort: 13001,
  };
  const stopping = new Stopping();
  const timings = path.join(out, "e2e-timings.json");
  const report = new Report(timings, run, { kind: "kind v0.32.0", pulumi: "v3.270.0", docker: "28.2.2" }, stopping.signal);
  const machineCalls: string[] = [];
  const machine = fakeMachine((command, args) => {
    machineCalls.push([command, ...args].join(" "));
    options.onMachineCall?.([command, ...args].join(" "), stub, stopping);
    return Promise.resolve(realisticAnswer(command, args, run.clusterName));
  });
  const env = Object.fromEntries(
    Object.entries(stub.env(options.stubEnv)).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  let printed = "";
  const collect = { write: (text: string) => (printed += text) };
  try {
    const pulumiCommand = await stub.pulumiCommand();
    const running = withProgress(collect, () =>
      runSuite({ run, report, stopping, machine, pulumi: { pulumiCommand, env }, diagnosticsDir: path.join(out, "e2e-diagnostics") }),
    );
    await withProgress(collect, () => options.during?.(stub, stopping, running));
    const outcome = await running;
    const bundleDir = outcome.diagnostics;
    const bundle = Object.fromEntries(
      bundleDir === undefined
        ? []
        : fs
            .readdirSync(bundleDir, { recursive: true, withFileTypes: true })
            .filter((entry) => entry.isFile())
            .map((entry) => {
              const file = path.join(entry.parentPath, entry.name);
              return [path.relative(bundleDir, file), fs.readFileSync(file, "utf8")];
            }),
    );
    return {
      bundle,
      outcome,
      report: JSON.parse(fs.readFileSync(timings, "utf8")) as Finished["report"],
      pulumiCalls: stub.calls().map((call) => call.split(" | ")[0]!),
      signals: stub.times().filter((line) => /^SIG/.test(line)),
      machineCalls,
      run,
      progress: printed,
    };
  } finally {
    stub.remove();
    fs.rmSync(out, { recursive: true, force: true });
  }
}

/** Everything made before the end is gone: the stack (destroyed if it held resources, then removed), its state, the project copy, the cluster. */
function cleanedUp(finished: Finished, options: { destroyed: boolean }) {
  const { pulumiCalls, machineCalls, run } = finished;
  assert.ok(machineCalls.includes(`kind delete cluster --name ${run.clusterName}`), "kind delete (the safety net) ran");
  for (const container of [`${run.clusterName}-registry`, `${run.clusterName}-git`]) {
    assert.ok(machineCalls.includes(`docker rm --force --volumes ${container}`), `${container} removed (the safety net)`);
  }
  assert.ok(pulumiCalls.includes(`stack rm --yes --force ${run.stackName} --non-interactive`), pulumiCalls.join("\n"));
  assert.equal(
    pulumiCalls.some((call) => call.startsWith("destroy ")),
    options.destroyed,
    pulumiCalls.join("\n"),
  );
  assert.equal(fs.existsSync(run.projectDir), false, "the project copy is removed");
  assert.equal(fs.existsSync(run.stateDir), false, "the state folder is removed");
}

const phasesOf = (finished: Finished) => finished.report.phases.map((phase) => `${phase.phase}:${phase.ok}`);
const started = (stub: PulumiStub, command: string) =>
  stub.times().some((line) => new RegExp(`^start e2e-[0-9a-f]+ ${command} `).test(line));

describe("the end-to-end suite's phases (stub Pulumi, docker and kind)", () => {
  it("a failing phase saves the diagnostics bundle, then cleans up, and reports the phase and why", async () => {
    const finished = await runPhases();
    const { outcome, report, run } = finished;
    assert.equal(outcome.result, "failed");
    assert.equal(outcome.failure, "stack output kubeconfig is missing");
    assert.equal(report.result, "failed");
    assert.equal(report.phase, "checks");
    assert.deepEqual(phasesOf(finished), ["stack setup:true", "up total:true", "checks:false"]);
    // Saved before cleanup; what could not be saved is named, in kind's and Docker's words.
    assert.equal(report.diagnostics, outcome.diagnostics);
    assert.deepEqual(Object.keys(finished.bundle), ["not-saved.txt"]);
    assert.equal(
      finished.bundle["not-saved.txt"],
      [
        `cluster objects and logs: no kubeconfig at ${run.projectDir}/.kube/${run.clusterName}.yaml (kind never created the cluster)`,
        `kind export logs: ERROR: unknown cluster "${run.clusterName}"`,
        `docker logs of the local registry: Error response from daemon: No such container: ${run.clusterName}-registry`,
        "",
      ].join("\n"),
    );
    cleanedUp(finished, { destroyed: true });
    // Its own cluster name, its local registry and Git server on ports of their own, the server's
    // image on the registry, each set as the structured value a user sets (--path), not as a JSON string.
    const configSets = finished.pulumiCalls.filter((call) => call.startsWith("config set"));
    assert.deepEqual(configSets, [
      `config set --path gitops:cluster.name --stack ${run.stackName} --plaintext --non-interactive -- ${run.clusterName}`,
      `config set --path gitops:cluster.registry.enabled --stack ${run.stackName} --plaintext --non-interactive -- true`,
      `config set --path gitops:cluster.registry.hostPort --stack ${run.stackName} --plaintext --non-interactive -- 15001`,
      `config set --path gitops:server.image --stack ${run.stackName} --plaintext --non-interactive -- ${run.clusterName}-registry:5000/ricoberger/gitops-using-flux:master-84e319d-1580380800`,
      `config set --path gitops:cluster.gitServer.hostPort --stack ${run.stackName} --plaintext --non-interactive -- 13001`,
    ]);
  });

  it("the deadline during the stack's setup: the stack it made is removed with its state; nothing else starts", async () => {
    const finished = await runPhases({
      stubEnv: { STUB_HOLD: "config set" },
      during: async (stub, stopping, running) => {
        await until(() => stub.times().some((line) => line.startsWith("hold config set")), "the first config set", running);
        deadlinePassed(stopping, 50);
        stub.release();
      },
    });
    assert.equal(finished.outcome.result, "timed out");
    assert.equal(finished.outcome.failure, "timed out during stack setup");
    assert.equal(finished.report.phase, "stack setup");
    assert.deepEqual(phasesOf(finished), ["stack setup:false"]);
    assert.ok(!finished.pulumiCalls.some((call) => call.startsWith("up ")), finished.pulumiCalls.join("\n"));
    assert.ok(finished.outcome.diagnostics, "a timed-out run saves diagnostics");
    cleanedUp(finished, { destroyed: true });
  });

  it("the deadline during up: Pulumi gets exactly one SIGINT, stops cleanly, and nothing else starts", async () => {
    const finished = await runPhases({
      stubEnv: { STUB_SECONDS_UP: "600" },
      during: async (stub, stopping, running) => {
        await until(() => started(stub, "up"), "up", running);
        deadlinePassed(stopping, 50);
      },
    });
    assert.equal(finished.outcome.result, "timed out");
    assert.equal(finished.outcome.failure, "timed out during up total");
    assert.deepEqual(phasesOf(finished), ["stack setup:true", "up total:false"]);
    assert.deepEqual(
      finished.signals.map((line) => line.split(" ").slice(0, 3).join(" ")),
      [`SIGINT ${finished.run.stackName} up`],
    );
    assert.match(finished.progress, /^pulumi up \| \^C received; cancelling\./m);
    cleanedUp(finished, { destroyed: true });
  });

  it("the deadline between two phases: the next one never starts, and what up made is destroyed", async () => {
    const finished = await runPhases({
      // The mirrors' counters are read right after up ended: the deadline passes then.
      onMachineCall: (words, stub, stopping) => {
        if (words.startsWith("docker exec gitops-mirror-") && stub.times().some((line) => / up /.test(line) && line.startsWith("end ")))
          deadlinePassed(stopping, 50);
      },
    });
    assert.equal(finished.outcome.result, "timed out");
    assert.equal(finished.outcome.failure, "timed out before checks");
    assert.equal(finished.report.phase, "up total");
    assert.deepEqual(phasesOf(finished), ["stack setup:true", "up total:true"]);
    assert.ok(!finished.pulumiCalls.some((call) => call.startsWith("preview ")), finished.pulumiCalls.join("\n"));
    assert.deepEqual(finished.signals, [], "nothing was running to be stopped");
    cleanedUp(finished, { destroyed: true });
  });
});
