// How invalid settings are reported: every problem at once, each as `key: value — what is allowed`.
import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import { hidden } from "./fields.ts";

/** A stack's settings are invalid; `problems` lists each one as `key: value — what is allowed`. */
export class ConfigurationError extends pulumi.RunError {
  readonly stackName: string;
  readonly problems: readonly string[];

  constructor(stackName: string, problems: readonly string[]) {
    super(
      `Invalid configuration for stack "${stackName}" (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((problem) => `  - ${problem}`).join("\n"),
    );
    this.name = "ConfigurationError";
    this.stackName = stackName;
    this.problems = problems;
  }
}

/** A value as a message shows it: JSON, cut short when long, credentials in URLs hidden. */
export function show(value: unknown): string {
  if (value === undefined) return "(missing)";
  if (value === hidden) return "(value hidden)";
  // Long enough for a full image reference; a whole mapping is cut short.
  // JSON.stringify gives undefined only for a function or a symbol, which no setting holds.
  const shown = (JSON.stringify(value) ?? typeof value).replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^/\s"@]+@/gi, "$1(credentials hidden)@");
  return shown.length > 200 ? `${shown.slice(0, 197)}...` : shown;
}

/** `project:section.field[0].key`, the way `pulumi config set --path` names it. */
export function settingKey(project: string, pathParts: readonly PropertyKey[]): string {
  return (
    `${project}:` +
    pathParts.map((part, index) => (typeof part === "number" ? `[${part}]` : `${index === 0 ? "" : "."}${String(part)}`)).join("")
  );
}

/**
 * One schema issue as problem lines (an unknown-keys issue names each key). The value under
 * an unknown key is never shown (it may be a misplaced secret), nor any value of a section
 * stored as a secret (`hide`).
 */
export function describeIssue(project: string, input: unknown, issue: z.core.$ZodIssue, options: { hide?: boolean } = {}): string[] {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => `${settingKey(project, [...issue.path, key])}: (value not shown) — ${issue.message}`);
  }
  const value = options.hide ? hidden : "input" in issue ? issue.input : valueAt(input, issue.path);
  return [`${settingKey(project, issue.path)}: ${show(value)} — ${issue.message}`];
}

function valueAt(root: unknown, pathParts: readonly PropertyKey[]): unknown {
  let value = root;
  for (const part of pathParts) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return value;
}
