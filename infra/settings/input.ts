// A stack's configuration as the engine hands it over (`project:key` → string), decoded into
// the project's sections; other namespaces sorted into Pulumi's or a provider's, misspellings
// and strangers.
import { show } from "./problems.ts";
import type { RawSettings } from "./index.ts";
import { secretSettings } from "./secrets.ts";
import { secretPlaceholder } from "./values.ts";

/** Namespaces of configuration this program (or Pulumi itself) reads besides its own. */
const otherNamespaces = ["pulumi", "kubernetes", "command", "tls", "github"];

/**
 * The project's keys, decoded the way `pulumi.Config.getObject` decodes them. Keys of other
 * namespaces are Pulumi's or a provider's; one that looks like a misspelt project namespace is
 * a problem, any other unknown one a warning. Values of unknown keys are never shown.
 */
export function configInput(
  raw: Pick<RawSettings, "project" | "stack" | "config" | "secretKeys">,
  sections: readonly string[],
  problems: string[],
  warnings: string[],
): Record<string, unknown> {
  const prefix = `${raw.project}:`;
  const input: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw.config)) {
    const separator = key.indexOf(":");
    const namespace = separator === -1 ? "" : key.slice(0, separator);
    if (!key.startsWith(prefix)) {
      if (otherNamespaces.includes(namespace)) continue;
      const name = key.slice(separator + 1);
      if (similar(namespace, raw.project)) {
        problems.push(
          `${key}: (value not shown) — not a setting of this project, whose settings are ${raw.project}:<key> (did you mean ${prefix}${name}?)`,
        );
      } else {
        warnings.push(
          `${key} is not read by this program: its settings are ${raw.project}:<key> (other namespaces: ${otherNamespaces.join(", ")})`,
        );
      }
      continue;
    }
    if (key.slice(prefix.length) in secretSettings) continue;
    if (value === secretPlaceholder) {
      warnings.push(
        `${key} is stored encrypted as a whole: it cannot be read here, so its defaults are shown (Pulumi decrypts it for the program)`,
      );
      continue;
    }
    const name = key.slice(prefix.length);
    try {
      input[name] = JSON.parse(value);
    } catch {
      // A string setting stores the string itself; a section is JSON. An unknown key's string
      // (say a misspelt gitToken's) is reported as unknown, its value never shown.
      if (!sections.includes(name)) {
        input[name] = value;
        continue;
      }
      const secret = (raw.secretKeys ?? []).includes(key);
      problems.push(
        `${key}: ${secret ? "(value hidden)" : show(value)} — must be a mapping (set it in Pulumi.${raw.stack}.yaml or with --path)`,
      );
    }
  }
  return input;
}

/** Edit distance (Levenshtein): how far a misspelling is from the word. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

/** Whether `a` looks like a misspelling of `b`: equal but for case, or at most two edits apart. */
export const similar = (a: string, b: string): boolean => editDistance(a.toLowerCase(), b.toLowerCase()) <= 2;
