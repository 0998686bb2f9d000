// npm run render -- <env> [--out DIR]
// Evaluates the program for one environment without a cluster, a Pulumi CLI or a network,
// and prints (or writes) what the stack would apply.
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { ConfigurationError } from "../config";
import { evaluateStack } from "../offline/mockEngine";
import { renderRegistrations, toYaml } from "../offline/render";
import { loadStackConfig, StackConfigError, StackNotFoundError } from "../offline/stackConfig";
import { runMain } from "./main";

const usage = "usage: npm run render -- <env> [--out DIR]";

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { out: { type: "string" } } });
  } catch (error) {
    console.error(`${(error as Error).message}\n${usage}`);
    return 2;
  }
  const [stack, ...extra] = parsed.positionals;
  if (!stack || extra.length > 0) {
    console.error(usage);
    return 2;
  }
  let stackConfig;
  try {
    stackConfig = loadStackConfig(stack);
  } catch (error) {
    if (error instanceof StackConfigError) {
      console.error(error.message);
      return 1;
    }
    if (!(error instanceof StackNotFoundError)) throw error;
    console.error(error.message);
    return 2;
  }

  const evaluation = await evaluateStack(stackConfig);
  if (evaluation.error !== undefined) {
    const error = evaluation.error;
    // A configuration problem is the user's to fix: its message says how. Anything else is a bug: show where.
    console.error(error instanceof ConfigurationError ? error.message : error instanceof Error ? error.stack : JSON.stringify(error));
    return 1;
  }
  const rendered = renderRegistrations(evaluation.registrations);

  const outDir = parsed.values.out;
  if (outDir === undefined) {
    process.stdout.write(toYaml(rendered.manifests));
    return 0;
  }
  const files: [string, readonly unknown[]][] = [
    ["manifests.yaml", rendered.manifests],
    ["helm-releases.yaml", rendered.helmReleases],
  ];
  if (rendered.kindCluster) files.push(["kind-cluster.yaml", [rendered.kindCluster]]);
  fs.mkdirSync(outDir, { recursive: true });
  for (const [file, documents] of files) {
    fs.writeFileSync(path.join(outDir, file), toYaml(documents));
    console.error(`wrote ${path.join(outDir, file)} (${documents.length} document${documents.length === 1 ? "" : "s"})`);
  }
  return 0;
}

runMain(main);
