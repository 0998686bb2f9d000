// A stack's configuration assembled from Pulumi.yaml and Pulumi.<stack>.yaml the way the
// Pulumi CLI hands it to the program, for evaluating the program without the CLI.
import * as fs from "node:fs";
import * as path from "node:path";
import { editDistance, isMapping, projectRoot, readYaml, secretPlaceholder, type ProjectFile } from "../../infra/settings/index.ts";

export interface StackConfig {
  readonly project: string;
  readonly stack: string;
  /** `namespace:key` → value as the engine passes it (JSON text for structured values). */
  readonly config: Record<string, string>;
  /** Keys whose value is encrypted in the stack file (wholly or in part). */
  readonly secretKeys: readonly string[];
  /** What works but probably not as meant (a key Pulumi ignores). */
  readonly warnings: readonly string[];
}

export class StackNotFoundError extends Error {}
/** What the Pulumi CLI itself refuses before it runs the program. */
export class StackConfigError extends Error {}

/** Environments are the stack files next to Pulumi.yaml. */
export function listStacks(root = projectRoot): string[] {
  return fs
    .readdirSync(root)
    .map((file) => /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1])
    .filter((stack): stack is string => stack !== undefined)
    .sort();
}

/** Pulumi's rule for a stack's own name (letters, digits, '-', '_', '.'): nothing that leads out of the project. */
export function stackNameProblem(stack: string): string | undefined {
  return /^[A-Za-z0-9_.-]{1,100}$/.test(stack) && stack !== "." && stack !== ".."
    ? undefined
    : `${JSON.stringify(stack)} is not a stack name: letters, digits, '-', '_' and '.', at most 100 (Pulumi's rule)`;
}

/** The top-level keys of a stack file (workspace.ProjectStack in pulumi/pulumi). */
const stackFileKeys = ["config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment"];

/** The stack file as Pulumi reads it: a mapping whose `config` is a mapping; every problem names the file. */
function readStackFile(file: ProjectFile, warnings: string[]): Record<string, unknown> {
  const read = readYaml(file);
  if ("problems" in read) throw new StackConfigError(read.problems.join("\n"));
  const content = read.value ?? {};
  if (!isMapping(content))
    throw new StackConfigError(
      `${file.path}: must be a mapping with a config: section (it is ${Array.isArray(content) ? "a list" : "a single value"})`,
    );
  for (const key of Object.keys(content).filter((name) => !stackFileKeys.includes(name))) {
    // A misspelt config: loses every setting silently; Pulumi itself ignores unknown keys.
    if (key.toLowerCase().replace(/[^a-z]/g, "").length > 0 && editDistance(key.toLowerCase(), "config") <= 2) {
      throw new StackConfigError(
        `${file.path}: ${key}: — not a key of a stack file: did you mean config:? (keys: ${stackFileKeys.join(", ")})`,
      );
    }
    warnings.push(`${file.path}: ${key}: is not a key of a stack file; Pulumi ignores it (keys: ${stackFileKeys.join(", ")})`);
  }
  if (content.config !== undefined && content.config !== null && !isMapping(content.config)) {
    throw new StackConfigError(
      `${file.path}: config: must be a mapping of settings such as gitops:server (it is ${Array.isArray(content.config) ? "a list" : "a single value"})`,
    );
  }
  return content;
}

/** `{secure: ...}` values at any depth, as `pulumi config set --secret [--path]` stores them. */
const isSecure = (value: unknown): value is { secure: string } =>
  isMapping(value) && Object.keys(value).length === 1 && typeof value.secure === "string";

/** The value with every encrypted part replaced by the placeholder; whether it had any. */
function withoutSecrets(value: unknown): { value: unknown; secret: boolean } {
  if (isSecure(value)) return { value: secretPlaceholder, secret: true };
  if (Array.isArray(value)) {
    const items = value.map(withoutSecrets);
    return { value: items.map((item) => item.value), secret: items.some((item) => item.secret) };
  }
  if (isMapping(value)) {
    const entries = Object.entries(value).map(([key, inner]) => [key, withoutSecrets(inner)] as const);
    return {
      value: Object.fromEntries(entries.map(([key, inner]) => [key, inner.value])),
      secret: entries.some(([, inner]) => inner.secret),
    };
  }
  return { value, secret: false };
}

const notAName = (stack: string, problem: string) => `no environment ${JSON.stringify(stack)}: ${problem}`;
const noStackFile = (stack: string, root: string) =>
  `no environment "${stack}": Pulumi.${stack}.yaml does not exist (environments: ${listStacks(root).join(", ")})`;

/** Why `stack` is no environment of the project in `root`, in every tool's words; undefined when it is one. */
export function noSuchEnvironment(stack: string, root: string): string | undefined {
  const nameProblem = stackNameProblem(stack);
  if (nameProblem) return notAName(stack, nameProblem);
  return fs.existsSync(path.join(root, `Pulumi.${stack}.yaml`)) ? undefined : noStackFile(stack, root);
}

/** The stack's configuration; `stackFile` defaults to Pulumi.<stack>.yaml next to Pulumi.yaml. */
export function loadStackConfig(stack: string, root = projectRoot, stackFile = path.join(root, `Pulumi.${stack}.yaml`)): StackConfig {
  const nameProblem = stackNameProblem(stack);
  if (nameProblem) throw new StackNotFoundError(notAName(stack, nameProblem));
  const projectText = fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8");
  const projectRead = readYaml({ path: "Pulumi.yaml", text: projectText });
  if ("problems" in projectRead) throw new StackConfigError(projectRead.problems.join("\n"));
  const project = mapping(projectRead.value);
  const projectName = String(project.name);
  if (!fs.existsSync(stackFile)) throw new StackNotFoundError(noStackFile(stack, root));
  const namespaced = (key: string) => (key.includes(":") ? key : `${projectName}:${key}`);
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  const warnings: string[] = [];

  const relative = path.relative(root, stackFile);
  const stackValues = mapping(
    readStackFile({ path: relative.startsWith("..") ? stackFile : relative, text: fs.readFileSync(stackFile, "utf8") }, warnings).config,
  );
  const onStack = new Set(Object.keys(stackValues).map(namespaced));

  // Project-level values and defaults (Pulumi.yaml `config:`), as the CLI applies them: a key of
  // the project's namespace declared with neither is required of every stack.
  const missing: string[] = [];
  for (const [key, declaration] of Object.entries(mapping(project.config))) {
    const value = isMapping(declaration) ? (declaration.default ?? declaration.value) : declaration;
    if (onStack.has(namespaced(key))) continue;
    if (value !== undefined) config[namespaced(key)] = encode(value);
    else if (namespaced(key).startsWith(`${projectName}:`)) missing.push(key);
  }
  if (missing.length > 0) {
    throw new StackConfigError(
      `Stack '${stack}' is missing configuration value${missing.length === 1 ? "" : "s"} ${missing.map((key) => `'${key}'`).join(", ")} (Pulumi.yaml declares ${missing.length === 1 ? "it" : "them"} without a default)`,
    );
  }
  for (const [key, raw] of Object.entries(stackValues)) {
    // Pulumi decrypts these for the program; offline they stay unreadable, marked as secret.
    const { value, secret } = withoutSecrets(raw);
    if (secret) secretKeys.push(namespaced(key));
    config[namespaced(key)] = encode(value);
  }
  return { project: projectName, stack, config, secretKeys, warnings };
}
/** Strings pass as they are; everything else as JSON, like the Pulumi CLI. */
function encode(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function mapping(value: unknown): Record<string, unknown> {
  return isMapping(value) ? value : {};
}
