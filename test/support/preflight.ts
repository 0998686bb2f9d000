// What the preflight tests (preflight.test.ts, preflightCommands.test.ts) share: a machine faked at
// its boundary (which executables exist and what they print, which files and ports there are),
// one where every check passes, and Linux's inotify limits, roomy or stock.
import * as path from "node:path";
import type { CommandResult, Machine } from "../../tools/machine.ts";
import { pinnedPulumiVersion, type PulumiCli } from "../../tools/pulumiCli.ts";

export type Programs = Record<string, { exitCode?: number; stdout?: string; stderr?: string; timedOut?: true } | undefined>;
export interface MachineOptions {
  platform?: NodeJS.Platform;
  arch?: string;
  node?: string;
  files?: Record<string, string>;
  busyPorts?: number[];
}
/** A machine with exactly these programs (`command arg...` → what it prints) and files. */
export function machine(programs: Programs, options: MachineOptions = {}): Machine {
  return {
    platform: options.platform ?? "linux",
    arch: options.arch ?? "x64",
    nodeVersion: options.node ?? "v22.23.3",
    run: (command, args): Promise<CommandResult> => {
      const git = programs["git --version"] === undefined ? gitOfHealthyCheckout(command, args) : undefined;
      if (git) return Promise.resolve(git);
      const known = Object.keys(programs).some((key) => key.split(" ")[0] === command);
      const program = programs[[command, ...args].join(" ")];
      if (!known) return Promise.resolve({ found: false, exitCode: null, stdout: "" });
      if (program?.timedOut) return Promise.resolve({ found: true, exitCode: null, timedOut: true, stdout: "" });
      return Promise.resolve({
        found: true,
        exitCode: program?.exitCode ?? 0,
        stdout: program?.stdout ?? "",
        stderr: program?.stderr ?? "",
      });
    },
    readFile: (file) => Promise.resolve(options.files?.[file]),
    listDirectory: (directory) =>
      Promise.resolve(
        Object.keys(options.files ?? {})
          .filter((file) => path.dirname(file) === directory)
          .map((file) => path.basename(file)),
      ),
    portFree: (_address, port) => Promise.resolve(!(options.busyPorts ?? []).includes(port)),
  };
}
export const healthy: Programs = {
  "pulumi version": { stdout: "v3.270.0\n" },
  "docker info --format {{.ServerVersion}}": { stdout: "28.2.2\n" },
  "kind version": { stdout: "kind v0.32.0 go1.24.4 linux/amd64\n" },
  "kind get clusters": { stdout: "" },
  "kubectl version --client": { stdout: "Client Version: v1.36.1\nKustomize Version: v5.7.1\n" },
};
export const roomyInotify = { "/proc/sys/fs/inotify/max_user_watches": "524288\n", "/proc/sys/fs/inotify/max_user_instances": "512\n" };
// Ubuntu's and Fedora's stock limits.
export const stockInotify = { "/proc/sys/fs/inotify/max_user_watches": "65536\n", "/proc/sys/fs/inotify/max_user_instances": "128\n" };

/** The project's Pulumi CLI, already downloaded (tools/pulumiCli.ts), at a made-up home. */
export const pinnedCli: PulumiCli = {
  version: pinnedPulumiVersion,
  root: `/home/user/.pulumi/versions/${pinnedPulumiVersion}`,
  bin: `/home/user/.pulumi/versions/${pinnedPulumiVersion}/bin`,
  binary: `/home/user/.pulumi/versions/${pinnedPulumiVersion}/bin/pulumi`,
  installed: true,
};

/**
 * git in a checkout with a commit, not shallow, whatever folder it is asked about (`git -C <dir>`):
 * what the preflight asks before a local Git server is filled; undefined for other commands.
 */
export function gitOfHealthyCheckout(command: string, args: readonly string[]): CommandResult | undefined {
  if (command !== "git") return undefined;
  const words = (args[0] === "-C" ? args.slice(2) : args).join(" ");
  const answers: Record<string, string> = {
    "--version": "git version 2.43.0\n",
    "rev-parse --verify --quiet HEAD": "84e319d0a1b2c3d4e5f60718293a4b5c6d7e8f90\n",
    "rev-parse --is-shallow-repository": "false\n",
  };
  const stdout = answers[words];
  return stdout === undefined ? { found: true, exitCode: 1, stdout: "" } : { found: true, exitCode: 0, stdout };
}
