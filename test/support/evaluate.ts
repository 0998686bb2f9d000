// Evaluates a stack under the mock engine in a process of its own and prints a JSON summary:
// { error, registered: ["type name", ...], registrations: [...], started: [...] }.
// Usage: evaluate.ts <stack> [--preview] [--kind-stdout TEXT]
// `started` lists the processes the evaluation tried to start (each attempt fails): a process of
// its own, so that no other test's processes are counted.
import { createRequire, syncBuiltinESMExports } from "node:module";
import { parseArgs } from "node:util";
import { evaluate } from "../helpers.ts";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { preview: { type: "boolean", default: false }, "kind-stdout": { type: "string" } },
});

const childProcess = createRequire(import.meta.url)("node:child_process") as Record<string, unknown>;
const started: string[] = [];
for (const name of ["spawn", "spawnSync", "exec", "execSync", "execFile", "execFileSync", "fork"]) {
  childProcess[name] = (...args: unknown[]) => {
    started.push(`${name} ${String(args[0])}`);
    throw new Error(`evaluation started a process: ${name}`);
  };
}
syncBuiltinESMExports();

void evaluate(positionals[0] ?? "dev", { preview: values.preview, kindStdout: values["kind-stdout"] }).then((evaluation) => {
  const error =
    evaluation.error instanceof Error
      ? evaluation.error.message
      : evaluation.error === undefined
        ? undefined
        : JSON.stringify(evaluation.error);
  console.log(
    JSON.stringify({
      error,
      registered: evaluation.registrations.map((r) => `${r.type} ${r.name}`),
      registrations: evaluation.registrations,
      started,
    }),
  );
});
