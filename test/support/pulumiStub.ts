// Installs the Pulumi CLI stand-in (test/support/pulumiStub.cjs, which says what it does and
// where each behaviour comes from) where the project's pinned CLI lives, in a Pulumi home of its
// own (`<home>/versions/<version>/bin/pulumi`, tools/pulumiCli.ts), run by this very Node.js:
// once per test process, shared by every test, each of which records its calls in a folder of
// its own. It is not on PATH: the tools find it as they find the real CLI.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PulumiCommand } from "@pulumi/pulumi/automation/index.js";
import { pinnedPulumiVersion } from "../../tools/pulumiCli.ts";
import { stubFolder } from "./stubFolder.ts";

export interface PulumiStub {
  /** The test's own folder: the stub's records, and room for the test's files. */
  readonly root: string;
  /** The folder holding `pulumi` (shared: never write into it). */
  readonly bin: string;
  /** The Pulumi home it is installed in (PULUMI_HOME in `env()`). */
  readonly home: string;
  /**
   * An environment whose Pulumi home holds the stub, recording calls and times, plus `extra`. The
   * Automation API adds this process's own environment underneath: the Pulumi variables that
   * would change what the tools do are set empty, which both the tools and Pulumi take as unset.
   */
  env(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  /** The Automation API's handle on the stub (asked for its version once per process). */
  readonly pulumiCommand: () => Promise<PulumiCommand>;
  /** The calls recorded so far, one a line; empty when there were none. */
  calls(): string[];
  /** The start, end, signal and hold lines recorded so far. */
  times(): string[];
  /** Lets a call held by STUB_HOLD go on. */
  release(): void;
  remove(): void;
}

let installed: { root: string; command: Promise<PulumiCommand> | undefined } | undefined;

/** The one installation of this process, `<root>/bin/pulumi`; removed when the process exits. */
function installation(): { root: string; command: Promise<PulumiCommand> | undefined } {
  if (installed) return installed;
  const stub = path.join(import.meta.dirname, "pulumiStub.cjs");
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-stub-"));
  const folder = stubFolder("pulumi-stub-", { pulumi: `#!${process.execPath}\nrequire(${JSON.stringify(stub)});\n` });
  fs.mkdirSync(path.join(root, "versions"));
  fs.renameSync(folder, path.join(root, "versions", pinnedPulumiVersion));
  process.on("exit", () => fs.rmSync(root, { recursive: true, force: true }));
  installed = { root, command: undefined };
  return installed;
}

/** A stub for one test: the shared `pulumi`, and a new temporary folder for what it records. */
export function createPulumiStub(): PulumiStub {
  const shared = installation();
  const bin = path.join(shared.root, "versions", pinnedPulumiVersion, "bin");
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-stub-test-"));
  const callsFile = path.join(root, "calls");
  const timesFile = path.join(root, "times");
  const lines = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim().split("\n") : []);
  return {
    root,
    bin,
    home: shared.root,
    env: (extra = {}) => ({
      PATH: "/usr/local/bin:/usr/bin:/bin",
      HOME: os.homedir(),
      PULUMI_HOME: shared.root,
      PULUMI_VERSION: "",
      PULUMI_BACKEND_URL: "",
      PULUMI_CONFIG_PASSPHRASE_FILE: "",
      PULUMI_K8S_DELETE_UNREACHABLE: "",
      STUB_CALLS: callsFile,
      STUB_TIMES: timesFile,
      ...extra,
    }),
    pulumiCommand: () =>
      (shared.command ??= PulumiCommand.get({ root: path.join(shared.root, "versions", pinnedPulumiVersion), skipVersionCheck: true })),
    calls: () => lines(callsFile),
    times: () => lines(timesFile),
    release: () => fs.writeFileSync(`${timesFile}.go`, ""),
    remove: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}
