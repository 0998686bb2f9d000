// Where a test's stub CLIs live: a fresh temporary folder whose `bin/` goes first on PATH.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** A new folder (named after `prefix`) with `bin/<name>`, executable, for each stub script; the caller removes it. */
export function stubFolder(prefix: string, stubs: Readonly<Record<string, string>>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.mkdirSync(path.join(dir, "bin"));
  for (const [name, script] of Object.entries(stubs)) fs.writeFileSync(path.join(dir, "bin", name), script, { mode: 0o755 });
  return dir;
}
