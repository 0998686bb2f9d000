// Shared by the tests: evaluate a stack under the mock engine, run the CLIs, make project copies.
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { before } from "node:test";
import * as YAML from "yaml";
import { isMapping, projectRoot } from "../infra/settings/index.ts";
import type { Io } from "../tools/cli.ts";
import { evaluateStack, type Evaluation, type EvaluationOptions, type Registration } from "../tools/offline/mockEngine.ts";
import { loadStackConfig } from "../tools/offline/stackConfig.ts";

export const fixtures = path.join(import.meta.dirname, "fixtures");
export const shippedStacks = ["dev", "prod"] as const;

/** Evaluates a stack of this project, optionally with some `gitops:` keys replaced. */
/** How a test evaluates a stack: a fixture stack file, settings over it, and the engine's options. */
export type TestEvaluation = { overrides?: Record<string, unknown>; stackFile?: string } & Partial<EvaluationOptions>;

export function evaluate(stack: string, options: TestEvaluation = {}): Promise<Evaluation> {
  // The same stack with the same options evaluates to the same (the determinism test): once per run.
  const key = JSON.stringify([stack, options]);
  let evaluation = evaluations.get(key);
  if (!evaluation) evaluations.set(key, (evaluation = evaluateAfresh(stack, options)));
  return evaluation;
}
const evaluations = new Map<string, Promise<Evaluation>>();

/** Evaluates a stack under the mock engine, every time it is asked. */
export async function evaluateAfresh(stack: string, options: TestEvaluation = {}): Promise<Evaluation> {
  const stackConfig = loadStackConfig(stack, projectRoot, options.stackFile);
  const config = { ...stackConfig.config };
  for (const [key, value] of Object.entries(options.overrides ?? {})) {
    config[`gitops:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return evaluateStack({ ...stackConfig, ...options, config });
}

/**
 * Evaluates each named case once, before the tests of the calling file run, and fails them
 * when one does not evaluate cleanly. `stackFile` picks a fixture; the stack is `stack` or the name.
 */
export function evaluatedBefore(
  cases: Record<string, { stack?: string } & Pick<TestEvaluation, "stackFile" | "overrides" | "secretKeys" | "environment">>,
): Map<string, Evaluation> {
  const evaluations = new Map<string, Evaluation>();
  before(async () => {
    for (const [name, { stack, ...options }] of Object.entries(cases)) {
      const evaluation = await evaluate(stack ?? name, options);
      assert.equal(evaluation.error, undefined, `${name}: ${String(evaluation.error)}`);
      evaluations.set(name, evaluation);
    }
  });
  return evaluations;
}

export function only(registrations: readonly Registration[], type: string, name?: string): Registration {
  const found = registrations.filter((r) => r.type === type && (name === undefined || r.name === name));
  if (found.length !== 1) throw new Error(`expected one ${type} ${name ?? ""}, found ${found.length}`);
  return found[0]!;
}

export function readYamlFile(file: string): unknown {
  return YAML.parse(fs.readFileSync(file, "utf8"));
}

export function readYamlDocuments(text: string): unknown[] {
  return YAML.parseAllDocuments(text).map((document) => document.toJS() as unknown);
}

/** Resolves once the output settles (an output that never does is caught by the tests' timeout, test/run.ts). */
export function settle<T>(output: { apply<U>(f: (value: T) => U): unknown }): Promise<T> {
  return new Promise<T>((resolve) => {
    output.apply((value) => {
      resolve(value);
      return value;
    });
  });
}

/**
 * Every leaf path of `values` that the chart's default values do not have. Free-form maps
 * take any key: one that is empty or null by default (nodeSelector: {}), and a string
 * dictionary, whose default values are all strings (annotations, resource quantities).
 */
export function unknownValuePaths(values: unknown, defaults: unknown, prefix = ""): string[] {
  if (!isMapping(values)) return [];
  if (!isMapping(defaults)) return [];
  const defaultValues = Object.values(defaults);
  if (defaultValues.every((value) => typeof value === "string")) return [];
  return Object.entries(values).flatMap(([key, value]) => {
    const keyPath = prefix ? `${prefix}.${key}` : key;
    if (!(key in defaults)) return [keyPath];
    const fallback = defaults[key];
    if (fallback === null || fallback === undefined) return [];
    return unknownValuePaths(value, fallback, keyPath);
  });
}

/** Whether `command` is not on PATH at all (as opposed to present and failing). */
export function executableMissing(command: string): boolean {
  const { error } = spawnSync(command, ["version"]);
  return error !== undefined && "code" in error && error.code === "ENOENT";
}

/** Whether a Docker daemon answers (the client alone does not count). */
export function dockerDaemonAnswers(): boolean {
  return spawnSync("docker", ["info"]).status === 0;
}

export interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** An Io for calling a tool's main in-process: what it writes is collected. */
export function captureIo(
  options: { root?: string; env?: NodeJS.ProcessEnv; confirm?: Io["confirm"] } = {},
): Io & { out(): string; err(): string } {
  let out = "";
  let err = "";
  return {
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text) },
    env: options.env ?? process.env,
    root: options.root ?? projectRoot,
    confirm: options.confirm,
    out: () => out,
    err: () => err,
  };
}

/**
 * Runs a program to its end with `input` on stdin, without blocking this process (its tests
 * run at the same time): its exit code (null when a signal ended it) and what it printed.
 */
export function runProcess(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      command,
      [...args],
      { cwd: options.cwd, env: options.env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => resolve({ status: error ? (typeof error.code === "number" ? error.code : null) : 0, stdout, stderr }),
    );
    // A program that ends before reading its input closes the pipe: that is its business.
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(options.input ?? "");
  });
}

/** Node's arguments to run a TypeScript file of the project in `root` as its npm scripts do (the Node floor check first). */
export const asNpmRuns = (script: string, root = projectRoot): string[] => [
  "--require",
  path.join(root, "tools/requireNode.cjs"),
  path.join(root, script),
];

/** Runs a TypeScript CLI of the project (as `npm run` does) in `cwd`, as its own process. */
export function runCli(
  script: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  const cwd = options.cwd ?? projectRoot;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...asNpmRuns(script, cwd), ...args],
      { cwd, env: { ...process.env, ...options.env }, encoding: "utf8" },
      (error, stdout, stderr) => resolve({ status: error ? (typeof error.code === "number" ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

let clonedFiles: string[] | undefined;

/**
 * What a fresh clone has (the files git tracks, and new files not yet committed, never ignored
 * ones) that the program and the tools read: not the tests, the docs or CI's files. Listed once.
 */
function filesToCopy(): string[] {
  if (clonedFiles) return clonedFiles;
  const listed = spawnSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "-z"], { cwd: projectRoot, encoding: "utf8" });
  if (listed.status !== 0) throw new Error(`git ls-files failed: ${listed.stderr}`);
  const unread = /^(test|docs|\.github|\.ci)\/|\.md$|^package-lock\.json$/;
  return (clonedFiles = listed.stdout.split("\0").filter((file) => file !== "" && !unread.test(file)));
}

/**
 * A throw-away copy of the project as a fresh clone has it, less the files no tool reads (see
 * filesToCopy), with `files` added or replaced. A tool called in-process reads only its data
 * (stack files, stacks/, the state folder); `runnable` also copies the code (infra/, tools/), for
 * a tool run as a process there. node_modules is linked, not copied.
 */
export function projectCopy(files: Record<string, string> = {}, options: { runnable?: boolean } = {}): { root: string; remove(): void } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "gitops-project-"));
  const code = /^(infra|tools)\//;
  for (const file of filesToCopy().filter((candidate) => options.runnable === true || !code.test(candidate))) {
    const source = path.join(projectRoot, file);
    if (!fs.existsSync(source)) continue; // deleted in the work tree, not yet committed
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.copyFileSync(source, path.join(root, file));
  }
  fs.symlinkSync(path.join(projectRoot, "node_modules"), path.join(root, "node_modules"));
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  }
  return { root, remove: () => fs.rmSync(root, { recursive: true, force: true }) };
}
