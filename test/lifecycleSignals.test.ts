// npm run up stopped while Pulumi runs (tools/lifecycle.ts, runOne.ts, runAll.ts, stopping.ts):
// SIGTERM or SIGINT to the tool alone, and Ctrl-C at a terminal, stop each Pulumi run cleanly with
// one SIGINT, against the Pulumi stub; two tests spawn the tool on a terminal of its own.
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { describe, it } from "node:test";
import { asNpmRuns } from "./helpers.ts";
import { startedRuns, summary, until, withFixture, type Fixture } from "./support/lifecycle.ts";
import { onTerminal } from "./support/terminal.ts";

describe("npm run up stopped by a signal or Ctrl-C", { concurrency: true }, () => {
  /** The signals each Pulumi run got, as "SIGINT dev", sorted. */
  const signalsGot = (stub: Fixture["stub"]) =>
    stub
      .times()
      .filter((line) => /^SIG/.test(line))
      .map((line) => line.split(" ").slice(0, 2).join(" "))
      .sort();

  /**
   * Runs `up --all` with no terminal, sends `signal` to the tool alone (a CI cancel, a `kill`)
   * once both Pulumi runs are under way, and returns what it printed and which signals the
   * Pulumi runs got.
   */
  async function signalled({ stub, lifecycle }: Pick<Fixture, "stub" | "lifecycle">, signal: "SIGINT" | "SIGTERM") {
    const signals = new EventEmitter();
    const running = lifecycle(["up", "--all", "--yes", "--no-preflight"], { env: { STUB_SECONDS: "600" }, signals });
    await until(() => startedRuns(stub) === 2, "both runs starting", running);
    signals.emit(signal, signal);
    return { ...(await running), signals: signalsGot(stub) };
  }

  it(
    "on SIGTERM (a CI cancel, to the tool only) stops each Pulumi run with exactly one SIGINT, and reports them interrupted",
    withFixture(async ({ lifecycle, stub }) => {
      const result = await signalled({ stub, lifecycle }, "SIGTERM");
      assert.equal(result.code, 1, result.stderr);
      assert.deepEqual(result.signals, ["SIGINT dev", "SIGINT prod"]);
      assert.match(result.stderr, /^gitops: asked to stop; stopping each Pulumi run cleanly$/m);
      assert.match(result.stdout, /^\[dev \] \^C received; cancelling\. If you would like to terminate immediately, press \^C again\.$/m);
      assert.match(summary(result.stdout), /^dev {10}interrupted {2}XmXXs {5}-\nprod {9}interrupted {2}XmXXs {5}-\n$/m);
    }),
  );

  it(
    "on a SIGINT where no terminal could have sent it (to the tool only) stops each Pulumi run with exactly one SIGINT",
    withFixture(async ({ lifecycle, stub }) => {
      const result = await signalled({ stub, lifecycle }, "SIGINT");
      assert.equal(result.code, 1, result.stderr);
      assert.deepEqual(result.signals, ["SIGINT dev", "SIGINT prod"]);
      assert.match(summary(result.stdout), /^dev {10}interrupted {2}XmXXs {5}-\nprod {9}interrupted {2}XmXXs {5}-\n$/m);
    }),
  );

  it(
    "on Ctrl-C at a terminal stops every Pulumi run cleanly (each gets the terminal's one SIGINT, none a second), reports them interrupted, and does not wait them out",
    withFixture(
      async ({ project, stub }) => {
        const tool = onTerminal(
          process.execPath,
          [...asNpmRuns("tools/lifecycle.ts", project.root), "up", "--all", "--yes", "--no-preflight"],
          {
            cwd: project.root,
            env: stub.env({ STUB_SECONDS: "600" }),
          },
        );
        await until(() => startedRuns(stub) === 2, "both runs starting", tool.ended);
        tool.ctrlC();
        const { code, output } = await tool.ended;
        assert.equal(code, 1, output);
        // Cancelled, not waited out: a run left alone would have gone on for 10 minutes.
        assert.match(output, /^\[dev \]\s+error: update canceled$/m);
        assert.match(output, /^\[prod\]\s+error: update canceled$/m);
        assert.deepEqual(signalsGot(stub), ["SIGINT dev", "SIGINT prod"]);
        assert.match(output, /^gitops: stopping; waiting for Pulumi to finish cleanly \(Ctrl-C again forces it\)$/m);
        assert.match(output, /^\[dev \] \^C received; cancelling\. If you would like to terminate immediately, press \^C again\.$/m);
        assert.match(output, /^\[prod\] \^C received; cancelling\. If you would like to terminate immediately, press \^C again\.$/m);
        assert.doesNotMatch(output, /received; terminating/);
        assert.match(summary(output), /^dev {10}interrupted {2}XmXXs {5}-\nprod {9}interrupted {2}XmXXs {5}-\n$/m);
      },
      { runnable: true },
    ),
  );

  it(
    "one environment at a terminal: Ctrl-C reaches Pulumi, and the tool waits for it to finish cancelling, then ends with its code",
    withFixture(
      async ({ project, stub }) => {
        const tool = onTerminal(
          process.execPath,
          [...asNpmRuns("tools/lifecycle.ts", project.root), "up", "dev", "--yes", "--no-preflight"],
          {
            cwd: project.root,
            env: stub.env({ STUB_SECONDS: "600" }),
          },
        );
        await until(() => startedRuns(stub) === 1, "the run starting", tool.ended);
        tool.ctrlC();
        const { code, output } = await tool.ended;
        // Pulumi's own exit code, and its last words printed before the tool ended.
        assert.equal(code, 1, output);
        assert.match(output, /^\s+error: update canceled$/m);
        assert.deepEqual(signalsGot(stub), ["SIGINT dev"]);
      },
      { runnable: true },
    ),
  );
});
