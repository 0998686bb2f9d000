// npm run bench [-- --runs N] [--render-only]
// Measures, on this machine: the wall time of `npm test` and of its unit part, and the time of
// `npm run render -- dev` beside a bare import of @pulumi/pulumi in the same run, as a ratio.
// A benchmark, not a test: it reports against the targets and always exits 0 when it could measure.
import { spawnSync } from "node:child_process";
import * as os from "node:os";
import { helpText, parseCommandLine, runMain, say, usageFailure, UsageError, type Io, type ToolHelp } from "./cli.ts";

export const help: ToolHelp = {
  command: "bench",
  summary:
    "Measures, on this machine, the wall time of npm test and of its unit part, and npm run render -- dev against a bare import of @pulumi/pulumi, one run after another, against their targets.",
  arguments: "",
  options: [
    ["--runs N", "how many runs of each (default 5)"],
    ["--render-only", "measure npm run render only"],
  ],
  examples: ["npm run bench", "npm run bench -- --runs 3 --render-only"],
  takesEnvironments: false,
};
const targets = { test: 30, unit: 15, renderRatio: 1.5 };

/** Seconds one run of `command` takes, or undefined when it fails. */
function timed(command: string, args: readonly string[], root: string, env: NodeJS.ProcessEnv): number | undefined {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, { cwd: root, env, stdio: "ignore" });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return result.status === 0 ? seconds : undefined;
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export function main(argv: readonly string[], io: Io): Promise<number> {
  return Promise.resolve(measure(argv, io));
}

/** Every measurement runs a process to its end, one after another: nothing here overlaps. */
function measure(argv: readonly string[], io: Io): number {
  let runs: number;
  let renderOnly: boolean;
  try {
    const { values } = parseCommandLine(argv, { runs: { type: "string", default: "5" }, "render-only": { type: "boolean" } }, false);
    if (values.help) {
      say(io.stdout, helpText(help));
      return 0;
    }
    runs = Number(values.runs);
    if (!Number.isInteger(runs) || runs < 1)
      throw new UsageError(`--runs ${JSON.stringify(values.runs)}: must be a whole number of at least 1`);
    renderOnly = values["render-only"] === true;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return usageFailure(io, help, error.message);
  }
  const node = process.execPath;
  const rows: [string, string, string][] = [];
  say(io.stderr, `bench: ${os.cpus().length} cores, node ${process.version}, load average ${os.loadavg()[0]!.toFixed(2)}`);

  if (!renderOnly) {
    for (const [name, script, target] of [
      ["npm test", "test", targets.test],
      ["unit tests", "test:unit", targets.unit],
    ] as const) {
      say(io.stderr, `bench: ${name}...`);
      const seconds = timed("npm", ["run", "-s", script], io.root, io.env);
      rows.push([
        name,
        seconds === undefined ? "FAILED" : `${seconds.toFixed(1)} s`,
        `under ${target} s${seconds !== undefined && seconds > target ? "  (over)" : ""}`,
      ]);
    }
  }

  // Alternating runs, so both see the same machine; one run first fills the file cache.
  // Render as `npm run render -- dev` runs it, the Node floor check included.
  const renderArgs = ["--require", "./tools/requireNode.cjs", "tools/render.ts", "dev"];
  timed(node, renderArgs, io.root, io.env);
  const render: number[] = [];
  const sdk: number[] = [];
  for (let run = 0; run < runs; run++) {
    const r = timed(node, renderArgs, io.root, io.env);
    const s = timed(node, ["-e", 'import("@pulumi/pulumi")'], io.root, io.env);
    if (r === undefined || s === undefined) {
      say(io.stderr, "bench: render or the SDK import failed");
      return 1;
    }
    render.push(r);
    sdk.push(s);
  }
  const ratio = median(render) / median(sdk);
  rows.push(["npm run render -- dev", `${median(render).toFixed(2)} s`, `median of ${runs}`]);
  rows.push(['bare import("@pulumi/pulumi")', `${median(sdk).toFixed(2)} s`, `median of ${runs}`]);
  rows.push([
    "render / SDK import",
    `${ratio.toFixed(2)}x`,
    `at most ${targets.renderRatio}x${ratio > targets.renderRatio ? "  (over)" : ""}`,
  ]);

  const width = Math.max(...rows.map(([name]) => name.length));
  for (const [name, value, note] of rows) say(io.stdout, `${name.padEnd(width)}  ${value.padStart(9)}  ${note}`);
  return 0;
}

if (import.meta.main) runMain(main);
