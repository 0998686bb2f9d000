// Evaluates a stack under the mock engine in a process of its own and prints a JSON summary:
// { error, registered: ["type name", ...], registrations: [...] }.
// Usage: evaluate.ts <stack> [--preview] [--kind-stdout TEXT]
import { parseArgs } from "node:util";
import { evaluate } from "../helpers.ts";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { preview: { type: "boolean", default: false }, "kind-stdout": { type: "string" } },
});

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
    }),
  );
});
