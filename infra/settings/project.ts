// The project on disk: where stack files and stacks/<env>/ live, and paths as users write them.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";

/** Root of the project: Pulumi.yaml, the stack files and stacks/<env>/ are resolved against it. */
export const projectRoot = path.resolve(import.meta.dirname, "..", "..");

/** A file of the project, as read from disk; `path` is relative to the project root, for messages. */
export interface ProjectFile {
  readonly path: string;
  readonly text: string;
}

/** `~/…` and paths relative to the project root, as a user writes them in a stack file. */
export function resolveUserPath(file: string, root = projectRoot): string {
  const expanded = file === "~" || file.startsWith("~/") ? path.join(os.homedir(), file.slice(1)) : file;
  return path.resolve(root, expanded);
}

export function readFileOrUndefined(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

/** A file of the project, when it exists. */
export function projectFile(relativePath: string, root = projectRoot): ProjectFile | undefined {
  const text = readFileOrUndefined(path.join(root, relativePath));
  return text === undefined ? undefined : { path: relativePath, text };
}

/**
 * A project YAML file's content as Pulumi's and Helm's YAML readers take it (merge keys work;
 * duplicate keys, alias bombs and runaway nesting do not), or its problems, each naming the
 * file, line and column.
 */
export function readYaml(file: ProjectFile): { value: unknown } | { problems: string[] } {
  const lines = new YAML.LineCounter();
  try {
    const document = YAML.parseDocument(file.text, { prettyErrors: false, uniqueKeys: true, merge: true, lineCounter: lines });
    if (document.errors.length > 0) {
      return {
        problems: document.errors.map((error) => {
          const { line, col } = lines.linePos(error.pos[0]);
          return `${file.path}:${line}:${col}: ${error.message.split("\n")[0]} — must be valid YAML`;
        }),
      };
    }
    const value = document.toJS({ maxAliasCount: 100 }) as unknown;
    // go-yaml refuses an anchor whose value contains its own alias (`&a {b: *a}`): so do we.
    if (containsItself(value)) return { problems: [`${file.path}: an alias refers to a value that contains it — must be valid YAML`] };
    return { value };
  } catch (error) {
    // yaml throws for an alias bomb ("Excessive alias count") and overflows on very deep nesting.
    const reason =
      error instanceof RangeError ? "it is nested too deeply" : error instanceof Error ? error.message.split("\n")[0] : String(error);
    return { problems: [`${file.path}: could not be read: ${reason} — must be valid YAML`] };
  }
}

/** Whether a value read from YAML refers to itself (a recursive alias). */
function containsItself(value: unknown, within = new Set<object>()): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (within.has(value)) return true;
  within.add(value);
  const found = Object.values(value).some((inner) => containsItself(inner, within));
  within.delete(value);
  return found;
}
