// The project on disk: where stack files and stacks/<env>/ live, and paths as users write them.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** Root of the project: Pulumi.yaml, the stack files and stacks/<env>/ are resolved against it. */
export const projectRoot = path.resolve(__dirname, "..", "..");

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
