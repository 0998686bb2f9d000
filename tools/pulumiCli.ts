// The Pulumi CLI the tools run: the release the project's @pulumi/pulumi pins, never whatever
// `pulumi` is on PATH. It lives where Pulumi's installer and the Automation API keep it,
// $PULUMI_HOME/versions/<version> (~/.pulumi by default, shared with the `pulumi` npm package's
// `npx pulumi`), and is downloaded there on first use with the Automation API's own installer
// (PulumiCommand.install: get.pulumi.com's install.sh with --install-root and --version).
// PULUMI_VERSION picks another release, as `npx pulumi` honours it.
//
// Not the `pulumi` npm package's wrapper: its `run.js` is a Node process between us and the CLI
// that has no signal handler, so the first Ctrl-C ends it while the CLI goes on cancelling, and
// a SIGINT passed on to it never reaches the CLI (tools/stopping.ts); and its newest release
// (3.265.0) lags the SDK.
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import { SemVer } from "semver";

/** The CLI release @pulumi/pulumi pins (its own version: the SDK and CLI are released together). */
export const pinnedPulumiVersion: string = (createRequire(import.meta.url)("@pulumi/pulumi/package.json") as { version: string }).version;

export interface PulumiCli {
  readonly version: string;
  /** Its installation root: `bin/pulumi` and the language hosts are in `bin/`. */
  readonly root: string;
  readonly bin: string;
  readonly binary: string;
  /** Whether it is there already; otherwise the first run downloads it. */
  readonly installed: boolean;
}

/** The CLI the tools run under `env` (PULUMI_VERSION, PULUMI_HOME, HOME). */
export function pulumiCli(env: NodeJS.ProcessEnv): PulumiCli {
  const version = nonEmpty(env.PULUMI_VERSION?.trim().replace(/^v/, "")) ?? pinnedPulumiVersion;
  const home = nonEmpty(env.PULUMI_HOME) ?? path.join(nonEmpty(env.HOME) ?? os.homedir(), ".pulumi");
  const root = path.join(home, "versions", version);
  const bin = path.join(root, "bin");
  const binary = path.join(bin, "pulumi");
  return { version, root, bin, binary, installed: isExecutable(binary) };
}

/** An empty variable counts as unset, as Pulumi and the `pulumi` npm package read them. */
const nonEmpty = (value: string | undefined) => (value === "" ? undefined : value);

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** `env` with the CLI's folder first on PATH: `pulumi` is this CLI, and its language hosts are found. */
export function withPulumiCli(env: NodeJS.ProcessEnv, cli: PulumiCli): NodeJS.ProcessEnv {
  return { ...env, PATH: [cli.bin, env.PATH].filter(Boolean).join(path.delimiter) };
}

/** Puts the CLI release at its root. */
export type PulumiInstaller = (cli: PulumiCli) => Promise<void>;

/** Pulumi's installer, as the Automation API runs it (downloads install.sh, then the release). */
export const downloadPulumi: PulumiInstaller = async (cli) => {
  const { PulumiCommand } = await import("@pulumi/pulumi/automation/index.js");
  await PulumiCommand.install({ version: new SemVer(cli.version), root: cli.root, skipVersionCheck: false });
};

/**
 * Makes sure the CLI is there, downloading it on first use (saying so: it takes a while).
 * Undefined when it is ready; else why not, in one line that says what to do.
 */
export async function ensurePulumiCli(
  cli: PulumiCli,
  say: (line: string) => void,
  install: PulumiInstaller = downloadPulumi,
): Promise<string | undefined> {
  if (cli.installed) return undefined;
  say(`gitops: downloading the Pulumi CLI v${cli.version} into ${cli.root} (once; from get.pulumi.com)`);
  try {
    await install(cli);
  } catch (error) {
    const reason = installFailure(error);
    return `could not download the Pulumi CLI v${cli.version} into ${cli.root}: ${reason} — connect to the internet and run this again, or install that release there yourself (https://www.pulumi.com/docs/iac/download-install/: install.sh --install-root ${cli.root} --version ${cli.version}); without it, npm run render -- <env> still works`;
  }
  if (!isExecutable(cli.binary)) return `the Pulumi installer finished, but ${cli.binary} is not there`;
  return undefined;
}

/**
 * Why the installer failed, in one line: the Automation API wraps a failed install.sh as
 * "code: -2 ..." with the script's own words on its stderr (automation/cmd.js exec), whose last
 * line says what went wrong; a failed download is a plain error.
 */
function installFailure(error: unknown): string {
  const stderr = (error as { commandResult?: { stderr?: unknown } }).commandResult?.stderr;
  const said =
    typeof stderr === "string"
      ? stderr
          .split("\n")
          .map((line) => line.trim())
          .filter((line) => line !== "")
          .at(-1)
      : undefined;
  if (said !== undefined) return said;
  return error instanceof Error ? (error.message.split("\n")[0] ?? "") : String(error);
}
