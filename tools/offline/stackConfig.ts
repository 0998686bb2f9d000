// A stack's configuration assembled from Pulumi.yaml and Pulumi.<stack>.yaml the way the
// Pulumi CLI hands it to the program, for evaluating the program without the CLI.
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { isMapping, projectRoot } from "../../infra/settings";

export interface StackConfig {
  readonly project: string;
  readonly stack: string;
  /** `namespace:key` → value as the engine passes it (JSON text for structured values). */
  readonly config: Record<string, string>;
  /** Keys whose value is encrypted in the stack file and so unknown offline. */
  readonly secretKeys: readonly string[];
}

/** Shown instead of a value that only the stack's secrets provider can decrypt. */
export const secretPlaceholder = "[secret: encrypted in the stack file, not readable offline]";

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

/** The stack's configuration; `stackFile` defaults to Pulumi.<stack>.yaml next to Pulumi.yaml. */
export function loadStackConfig(stack: string, root = projectRoot, stackFile = path.join(root, `Pulumi.${stack}.yaml`)): StackConfig {
  const project = readYaml(path.join(root, "Pulumi.yaml"));
  const projectName = String(project.name);
  if (!fs.existsSync(stackFile)) {
    throw new StackNotFoundError(
      `no environment "${stack}": Pulumi.${stack}.yaml does not exist (environments: ${listStacks(root).join(", ")})`,
    );
  }
  const namespaced = (key: string) => (key.includes(":") ? key : `${projectName}:${key}`);
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];

  const stackValues = mapping(readYaml(stackFile).config);
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
  for (const [key, value] of Object.entries(stackValues)) {
    if (isMapping(value) && "secure" in value) {
      secretKeys.push(namespaced(key));
      config[namespaced(key)] = secretPlaceholder;
    } else {
      config[namespaced(key)] = encode(value);
    }
  }
  return { project: projectName, stack, config, secretKeys };
}

/** Strings pass as they are; everything else as JSON, like the Pulumi CLI. */
function encode(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function mapping(value: unknown): Record<string, unknown> {
  return isMapping(value) ? value : {};
}

function readYaml(file: string): Record<string, unknown> {
  return mapping(YAML.parse(fs.readFileSync(file, "utf8")));
}
