// What the parts of the end-to-end suite share: where things are and how it logs.
import { AsyncLocalStorage } from "node:async_hooks";
import * as path from "node:path";

export const projectRoot = path.resolve(import.meta.dirname, "..", "..");
export const baseStack = "dev";
// dev keeps the default namespace names (README "Settings"); Flux's comes from the stack output.
export const serverNamespace = "server";
export const monitoringNamespace = "monitoring";
export const minute = 60_000;

/** A check of the live environment that did not hold: its message names what was expected. */
export class CheckFailed extends Error {}

/** Where the suite's progress and Pulumi's output go, for the work `withProgress` runs. */
const progressTo = new AsyncLocalStorage<{ write(text: string): unknown }>();

/** Runs `work` with the suite's progress written to `to` (what a test collects); else it goes to stdout. */
export const withProgress = <T>(to: { write(text: string): unknown }, work: () => T): T => progressTo.run(to, work);

/** Writes the suite's progress. */
export const progress = (text: string): unknown => (progressTo.getStore() ?? process.stdout).write(text);

export function log(message: string): void {
  progress(`e2e: ${message}\n`);
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Automation API errors carry the whole Pulumi output, which was already streamed: keep the end. */
export function lastLines(text: string, count = 25): string {
  const lines = text.trimEnd().split("\n");
  return lines.length <= count ? lines.join("\n") : ["...", ...lines.slice(-count)].join("\n");
}
