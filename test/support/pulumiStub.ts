// Installs the Pulumi CLI stand-in (test/support/pulumiStub.cjs, which says what it does and
// where each behaviour comes from) as `<root>/bin/pulumi`, run by this very Node.js.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface PulumiStub {
  /** The installation root: `<root>/bin/pulumi` is the stub (the Automation API's PulumiCommand.get({ root })). */
  readonly root: string;
  /** The folder holding `pulumi`, to put first on PATH. */
  readonly bin: string;
  /**
   * An environment with the stub first on PATH, recording calls and times, plus `extra`. The
   * Automation API adds this process's own environment underneath: the Pulumi variables that
   * would change what the tools do are set empty, which both the tools and Pulumi take as unset.
   */
  env(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  /** The calls recorded so far, one a line; empty when there were none. */
  calls(): string[];
  /** The start, end, signal and hold lines recorded so far. */
  times(): string[];
  /** Lets a call held by STUB_HOLD go on. */
  release(): void;
  remove(): void;
}

/** Writes the stub into a new temporary folder as `<root>/bin/pulumi`. */
export function createPulumiStub(): PulumiStub {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-stub-"));
  const bin = path.join(root, "bin");
  fs.mkdirSync(bin);
  const stub = path.join(import.meta.dirname, "pulumiStub.cjs");
  fs.writeFileSync(path.join(bin, "pulumi"), `#!${process.execPath}\nrequire(${JSON.stringify(stub)});\n`, { mode: 0o755 });
  const callsFile = path.join(root, "calls");
  const timesFile = path.join(root, "times");
  const lines = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim().split("\n") : []);
  return {
    root,
    bin,
    env: (extra = {}) => ({
      PATH: `${bin}:/usr/local/bin:/usr/bin:/bin`,
      HOME: os.homedir(),
      PULUMI_BACKEND_URL: "",
      PULUMI_CONFIG_PASSPHRASE_FILE: "",
      PULUMI_K8S_DELETE_UNREACHABLE: "",
      STUB_CALLS: callsFile,
      STUB_TIMES: timesFile,
      ...extra,
    }),
    calls: () => lines(callsFile),
    times: () => lines(timesFile),
    release: () => fs.writeFileSync(`${timesFile}.go`, ""),
    remove: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}
