// Every tool's command line follows one rule: environments as positionals (one, or --all where it
// makes sense), the same words for the same mistakes, a hint when npm took the tool's options
// for itself (the `--` forgotten), and a --help that says what the command does, its options and
// two examples.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { main as bench, help as benchHelp } from "../tools/bench.ts";
import type { Io, ToolHelp } from "../tools/cli.ts";
import { main as doctor, help as doctorHelp } from "../tools/doctor.ts";
import { lifecycleHelp } from "../tools/lifecycle.ts";
import { main as mirrors, help as mirrorsHelp } from "../tools/mirrors.ts";
import { main as release, help as releaseHelp } from "../tools/release.ts";
import { main as render, help as renderHelp } from "../tools/render.ts";
import { main as sync, help as syncHelp } from "../tools/sync.ts";
import { main as ui, help as uiHelp } from "../tools/ui.ts";
import { captureIo } from "./helpers.ts";
import { withFixture } from "./support/lifecycle.ts";

type Main = (argv: string[], io: Io) => Promise<number>;
const tools: [ToolHelp, Main][] = [
  [renderHelp, render],
  [syncHelp, (argv, io) => sync(argv, io)],
  [uiHelp, (argv, io) => ui(argv, io)],
  [releaseHelp, (argv, io) => release(argv, io)],
  [doctorHelp, (argv, io) => doctor(argv, io)],
  [mirrorsHelp, (argv, io) => mirrors(argv, io)],
  [benchHelp, bench],
];
const oneEnvironment = tools.filter(([help]) => help.arguments === "<env>");

async function run(main: Main, argv: string[], env: NodeJS.ProcessEnv = {}) {
  const io = captureIo({ env });
  const code = await main(argv, io);
  return { code, stdout: io.out(), stderr: io.err() };
}

/** The usage line of a tool's errors: the first line of its --help. */
async function usageOf(main: Main): Promise<string> {
  return (await run(main, ["--help"])).stdout.split("\n")[0]!;
}

describe("every tool's command line", { concurrency: true }, () => {
  for (const [help, main] of tools) {
    it(`${help.command} --help: usage, what it does, its options and two examples (exit 0)`, async () => {
      const { code, stdout, stderr } = await run(main, ["--help"]);
      assert.equal(code, 0);
      assert.equal(stderr, "");
      const [usage, blank, summary] = stdout.split("\n");
      assert.match(usage!, new RegExp(`^usage: npm run ${help.command} -- `));
      assert.equal(blank, "");
      assert.equal(summary, help.summary);
      for (const [option, text] of help.options)
        assert.match(
          stdout,
          new RegExp(`^  ${option.replace(/[[\]|.]/g, "\\$&")} +${text.slice(0, 20).replace(/[()[\].|+*?]/g, "\\$&")}`, "m"),
        );
      const examples = stdout
        .slice(stdout.indexOf("\nexamples:\n") + "\nexamples:\n".length)
        .trimEnd()
        .split("\n");
      assert.ok(examples.length >= 2, stdout);
      for (const example of examples) assert.match(example, new RegExp(`^  npm run (-s )?${help.command}\\b`));
    });

    it(`${help.command}: an unknown option is named in the project's words, with the usage (exit 2)`, async () => {
      const { code, stderr } = await run(main, ["--bogus"]);
      assert.equal(code, 2);
      assert.equal(stderr, `gitops: unknown option --bogus\n${await usageOf(main)}\n`);
    });
  }

  for (const [help, main] of oneEnvironment) {
    it(`${help.command} takes one environment: --all and a second one are refused, with the usage (exit 2)`, async () => {
      const usage = await usageOf(main);
      const all = await run(main, ["--all"]);
      assert.deepEqual([all.code, all.stderr], [2, `gitops: unknown option --all\n${usage}\n`]);
      const two = await run(main, ["dev", "prod"]);
      assert.deepEqual([two.code, two.stderr], [2, `gitops: one environment, not dev prod\n${usage}\n`]);
      const none = await run(main, []);
      assert.deepEqual([none.code, none.stderr], [2, `gitops: which environment?\n${usage}\n`]);
    });
  }

  it("doctor takes --all, or environments, not both", async () => {
    const both = await run(doctor, ["--all", "dev"]);
    assert.deepEqual([both.code, both.stderr], [2, `gitops: --all or environments, not both (dev)\n${await usageOf(doctor)}\n`]);
  });

  it("a value an option needs, and a value a flag does not take, are named", async () => {
    const missing = await run(render, ["dev", "--out"]);
    assert.equal(missing.stderr.split("\n")[0], "gitops: --out needs a value");
    const extra = await run(release, ["dev", "--wait=yes"]);
    assert.equal(extra.stderr.split("\n")[0], "gitops: --wait takes no value");
  });

  it("when npm took the tool's options for itself (npm run render --out x, the -- forgotten), says so and how to pass them", async () => {
    const result = await run(render, [], { npm_config_out: "true" });
    assert.equal(
      result.stderr.split("\n").slice(0, 2).join("\n"),
      "gitops: which environment?\ngitops: npm took --out for itself: put the tool's options after --, as in npm run render -- <env> --out",
    );
  });
});

describe("npm run up|preview|destroy's command line", { concurrency: true }, () => {
  it(
    "refuses a second environment, which Pulumi would have taken as a template (exit 2); a Pulumi option's value is no environment",
    withFixture(async ({ stub, lifecycle }) => {
      const usage = (await lifecycle(["up", "--help"])).stdout.split("\n")[0]!;
      const two = await lifecycle(["up", "dev", "prod"]);
      assert.deepEqual(
        [two.code, two.stderr],
        [2, `gitops: one environment, not dev prod: npm run up -- --all runs every one at once\n${usage}\n`],
      );
      const both = await lifecycle(["destroy", "--all", "dev"]);
      assert.equal(both.stderr.split("\n")[0], "gitops: --all or an environment, not both (dev)");
      assert.deepEqual(stub.calls(), []);
      const targeted = await lifecycle(["preview", "dev", "--no-preflight", "--target", "urn:pulumi:dev::gitops::x::y", "-p", "4"]);
      assert.equal(targeted.code, 0, targeted.stderr);
      assert.ok(
        stub.calls().some((call) => call.startsWith("preview --stack dev --target urn:pulumi:dev::gitops::x::y -p 4 ")),
        stub.calls().join("\n"),
      );
    }),
  );

  it(
    "npm run up --all (the -- forgotten): npm keeps --all, so the tool says how to pass it (exit 2)",
    withFixture(async ({ lifecycle }) => {
      const result = await lifecycle(["up"], { env: { npm_config_all: "true", npm_config_yes: "" } });
      assert.equal(result.code, 2);
      assert.equal(
        result.stderr.split("\n").slice(0, 2).join("\n"),
        "gitops: which environment? (or --all for every one)\ngitops: npm took --all for itself: put the tool's options after --, as in npm run up -- --all",
      );
    }),
  );

  it(
    "passes Pulumi's options on as written: a short option with its value attached (-v9) stays one word, --output takes its value",
    withFixture(async ({ stub, lifecycle }) => {
      const result = await lifecycle(["preview", "dev", "--no-preflight", "-v9", "-p8", "--output", "json"]);
      assert.equal(result.code, 0, result.stderr);
      assert.ok(
        stub.calls().some((call) => call.startsWith("preview --stack dev -v9 -p8 --output json ")),
        stub.calls().join("\n"),
      );
    }),
  );

  it("preview's help offers no --yes (it never asks); up's and destroy's do", () => {
    assert.equal(
      lifecycleHelp("preview").options.some(([option]) => option === "--yes"),
      false,
    );
    for (const command of ["up", "destroy"] as const) assert.ok(lifecycleHelp(command).options.some(([option]) => option === "--yes"));
  });
});
