// The end-to-end suite as its own process (test/e2e/e2e.ts), where the process is the point:
// signals, exit codes, the report file. Stub docker, kind and pulumi come first on its PATH.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { asNpmRuns, runCli } from "./helpers.ts";
import { until } from "./support/lifecycle.ts";
import { createPulumiStub } from "./support/pulumiStub.ts";
import { onTerminal } from "./support/terminal.ts";

// Docker with a daemon and no containers; kind with no clusters: it deletes a missing one
// without error, and cannot export the logs of one (kind v0.32 cmd/kind/app, export/logs).
const stubDocker = `#!/usr/bin/env bash
echo "docker $*" >> "$STUB_CALLS"
case "$1" in
  version) echo "client 28.2.2, server 28.2.2" ;;
  info) echo "28.2.2" ;;
  exec|logs) echo "Error response from daemon: No such container: $2" >&2; exit 1 ;;
  *) echo "docker stub: $*" >&2; exit 1 ;;
esac
`;
const stubKind = `#!/usr/bin/env bash
echo "kind $*" >> "$STUB_CALLS"
case "$1 $2" in
  "version "*) echo "kind v0.32.0 go1.24.4 linux/amd64" ;;
  "get clusters") ;;
  "delete cluster") echo "Deleting cluster \\"$4\\" ..." >&2 ;;
  "export logs") echo "ERROR: unknown cluster \\"\${@: -1}\\"" >&2; exit 1 ;;
  *) echo "kind stub: $*" >&2; exit 1 ;;
esac
`;

/** Runs the suite with the stubs, its Pulumi up lasting until stopped, and stops it `how`, once up runs. */
async function stoppedSuite(how: "SIGINT to the suite" | "Ctrl-C at its terminal") {
  const stub = createPulumiStub();
  const tools = path.join(stub.root, "bin");
  fs.mkdirSync(tools);
  fs.writeFileSync(path.join(tools, "docker"), stubDocker, { mode: 0o755 });
  fs.writeFileSync(path.join(tools, "kind"), stubKind, { mode: 0o755 });
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-out-"));
  const args = [...asNpmRuns("test/e2e/e2e.ts"), "--timings", path.join(out, "e2e-timings.json")];
  const env = { ...stub.env({ STUB_SECONDS_UP: "600" }), PATH: `${tools}:${stub.bin}:/usr/bin:/bin` };
  const upRuns = () => stub.times().some((line) => /^start e2e-[0-9a-f]+ up /.test(line));
  try {
    let ended: Promise<{ code: number | null; output: string }>;
    if (how === "Ctrl-C at its terminal") {
      const suite = onTerminal(process.execPath, args, { cwd: out, env });
      await until(upRuns, "up", suite.ended);
      suite.ctrlC();
      ended = suite.ended;
    } else {
      // detached: a session of its own, without a controlling terminal, wherever the tests run.
      const child = spawn(process.execPath, args, { cwd: out, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
      ended = new Promise((resolve) => child.on("close", (code) => resolve({ code, output })));
      await until(upRuns, "up", ended);
      process.kill(child.pid!, "SIGINT");
    }
    const { code, output } = await ended;
    const report = JSON.parse(fs.readFileSync(path.join(out, "e2e-timings.json"), "utf8")) as {
      result: string;
      phase?: string;
      diagnostics?: string;
    };
    const signals = stub.times().filter((line) => /^SIG/.test(line));
    return { code, output, report, calls: stub.calls(), signals };
  } finally {
    stub.remove();
    fs.rmSync(out, { recursive: true, force: true });
  }
}

const cleanupRan = (calls: string[]) => {
  assert.ok(
    calls.some((call) => call.startsWith("kind delete cluster --name gitops-e2e-")),
    "kind delete (the safety net) ran",
  );
  assert.ok(
    calls.some((call) => /^stack rm --yes --force e2e-[0-9a-f]+ --non-interactive /.test(call)),
    "the stack was removed",
  );
};

describe("the end-to-end suite as a process (stub docker, kind and pulumi)", { concurrency: true }, () => {
  it("Ctrl-C at its terminal reaches Pulumi once (the terminal's own), then cleanup runs; exit 130, reported interrupted", async () => {
    const run = await stoppedSuite("Ctrl-C at its terminal");
    assert.equal(run.code, 130, run.output);
    assert.equal(run.signals.length, 1, run.signals.join("\n"));
    assert.match(run.signals[0]!, /^SIGINT e2e-[0-9a-f]+ up /);
    assert.match(run.output, /^pulumi up \| \^C received; cancelling\./m);
    assert.equal(run.report.result, "interrupted");
    assert.equal(run.report.phase, "up total");
    assert.equal(run.report.diagnostics, undefined);
    cleanupRan(run.calls);
  });

  // GitHub's runner cancels with a SIGINT to the step's process alone (then a SIGTERM); what a
  // SIGTERM does is the same (tools/stopping.ts passesOn, test/stopping.test.ts).
  it("a SIGINT to the suite alone (a CI cancel) is passed on to Pulumi once, then cleanup runs; exit 130", async () => {
    const run = await stoppedSuite("SIGINT to the suite");
    assert.equal(run.code, 130, run.output);
    assert.equal(run.signals.length, 1, run.signals.join("\n"));
    assert.match(run.signals[0]!, /^SIGINT e2e-[0-9a-f]+ up /);
    assert.equal(run.report.result, "interrupted");
    assert.match(run.output, /^e2e: interrupted \(cleanup done\)$/m);
    cleanupRan(run.calls);
  });

  /** Runs the suite with only the stub pulumi on PATH (no docker, no kind); its exit code and stderr. */
  async function withoutTools(env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
    const stub = createPulumiStub();
    try {
      const { status, stderr } = await runCli("test/e2e/e2e.ts", [], { env: { PATH: `${stub.bin}:/usr/bin:/bin`, ...env } });
      return { code: status, stderr };
    } finally {
      stub.remove();
    }
  }

  it("with E2E_REQUIRED=1, a missing tool fails the run instead of skipping it", async () => {
    const { code, stderr } = await withoutTools({ E2E_REQUIRED: "1" });
    assert.equal(code, 1);
    assert.match(stderr, /^e2e: FAILED: E2E_REQUIRED=1, but this machine lacks .*kind \(not on PATH\)/m);
  });

  it("refuses a deadline that is not a positive number of minutes, before anything runs", async () => {
    const deadlines = ["soon", "0", "-5"];
    const runs = await Promise.all(deadlines.map((deadline) => withoutTools({ E2E_DEADLINE_MINUTES: deadline, E2E_REQUIRED: "1" })));
    runs.forEach(({ code, stderr }, index) => {
      assert.equal(code, 2, deadlines[index]);
      assert.match(stderr, new RegExp(`^e2e: E2E_DEADLINE_MINUTES="${deadlines[index]}" is not a positive number of minutes$`, "m"));
    });
  });
});
