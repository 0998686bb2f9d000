// What the tests of npm run release (release.test.ts, releaseWait.test.ts) share: Docker as a
// fake machine at the process boundary, the registry's tag list as a fake fetch, and the tool's
// main run in-process on a project copy, at a fixed push time.
import * as fs from "node:fs";
import * as path from "node:path";
import type { CommandResult } from "../../tools/machine.ts";
import { main, type ReleaseDependencies } from "../../tools/release.ts";
import { captureIo, fixtures, projectCopy } from "../helpers.ts";
import { fakeMachine } from "./machine.ts";

/** dev with its registry on and its image there. */
export const registryStack = fs.readFileSync(path.join(fixtures, "stacks", "registry.yaml"), "utf8");
/** The time of the push, in seconds: what dev's next master build tag ends with. */
export const pushTime = 1795600000;

/** Docker that has (or lacks) the talk's image and pushes; each call recorded. */
export function fakeDocker(options: { missing?: boolean; hasImage?: boolean; pushFails?: boolean } = {}) {
  const calls: string[] = [];
  const machine = fakeMachine((command, args): Promise<CommandResult> => {
    calls.push([command, ...args].join(" "));
    if (options.missing) return Promise.resolve({ found: false, exitCode: null, stdout: "" });
    if (args[0] === "image") return Promise.resolve({ found: true, exitCode: options.hasImage ? 0 : 1, stdout: "" });
    if (args[0] === "push" && options.pushFails) return Promise.resolve({ found: true, exitCode: 1, stdout: "" });
    return Promise.resolve({ found: true, exitCode: 0, stdout: "" });
  });
  return { machine, calls };
}

/** The registry's answer to GET /v2/<path>/tags/list: these tags, none yet (404), or no answer. */
export function fakeRegistry(answer: string[] | "empty" | "down") {
  const urls: string[] = [];
  const fetchTags = ((url: string) => {
    urls.push(url);
    if (answer === "down") return Promise.reject(new TypeError("fetch failed"));
    if (answer === "empty") return Promise.resolve(new Response(JSON.stringify({ errors: [{ code: "NAME_UNKNOWN" }] }), { status: 404 }));
    return Promise.resolve(Response.json({ name: "ricoberger/gitops-using-flux", tags: answer }));
  }) as typeof fetch;
  return { fetchTags, urls };
}

/** Runs the tool in-process on a project copy with `files` replaced: its exit code and what it printed. */
export async function release(argv: string[], files: Record<string, string>, dependencies: ReleaseDependencies) {
  const copy = projectCopy(files);
  try {
    const io = captureIo({ root: copy.root });
    const code = await main(argv, io, { now: () => pushTime * 1000, pollIntervalMs: 10, ...dependencies });
    return { code, out: io.out(), err: io.err() };
  } finally {
    copy.remove();
  }
}
