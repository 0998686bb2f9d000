// The machine the tools run on, behind one boundary: which programs exist and what they say,
// which kind clusters run, what the kernel allows. doctor, the lifecycle wrapper and the
// end-to-end suite all ask here; tests hand in a fake.
import { execFile } from "node:child_process";
import * as fs from "node:fs/promises";
import * as net from "node:net";

export interface CommandResult {
  /** False when the executable is not on PATH. */
  readonly found: boolean;
  /** Exit code; null when it was stopped (timeout) or never ran. */
  readonly exitCode: number | null;
  /** It did not finish within the probe timeout and was stopped. */
  readonly timedOut?: boolean;
  readonly stdout: string;
  /** What it said on stderr, where a caller shows why it failed. */
  readonly stderr?: string;
}

export interface Machine {
  readonly platform: NodeJS.Platform;
  /** The CPU architecture (Node's names: x64, arm64, ...). */
  readonly arch: string;
  readonly nodeVersion: string;
  run(command: string, args: readonly string[]): Promise<CommandResult>;
  readFile(file: string): Promise<string | undefined>;
  /** Entries of a directory; empty when it cannot be read. */
  listDirectory(directory: string): Promise<string[]>;
  portFree(address: string, port: number): Promise<boolean>;
}

/** How long a probe such as `docker info` may take (Docker Desktop enumerates its CLI plugins first). */
export const probeTimeoutMs = 10_000;

/** The machine this process runs on. Commands time out so a hung daemon cannot stall anything. */
export const localMachine = (timeoutMs = probeTimeoutMs, env: NodeJS.ProcessEnv = process.env): Machine => ({
  platform: process.platform,
  arch: process.arch,
  nodeVersion: process.version,
  run: (command, args) =>
    new Promise((resolve) => {
      execFile(command, [...args], { env, timeout: timeoutMs, encoding: "utf8", maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
        if (!error) return resolve({ found: true, exitCode: 0, stdout, stderr });
        // A number for a non-zero exit; "ENOENT" when there is no such executable; killed on timeout.
        const { code, killed } = error as { code?: unknown; killed?: boolean };
        if (code === "ENOENT") return resolve({ found: false, exitCode: null, stdout: "", stderr: "" });
        resolve({ found: true, exitCode: typeof code === "number" ? code : null, timedOut: killed === true, stdout, stderr });
      });
    }),
  readFile: (file) => fs.readFile(file, "utf8").catch(() => undefined),
  listDirectory: (directory) => fs.readdir(directory).catch(() => []),
  portFree: (address, port) =>
    new Promise((resolve) => {
      const server = net.createServer();
      server.once("error", () => resolve(false));
      server.listen(port, address, () => server.close(() => resolve(true)));
    }),
});

/** The names of the kind clusters that exist; undefined when kind cannot tell (not installed, no Docker). */
export async function kindClusters(machine: Machine): Promise<string[] | undefined> {
  const result = await machine.run("kind", ["get", "clusters"]);
  if (result.exitCode !== 0) return undefined;
  return result.stdout
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "");
}

/** Whether the Docker daemon answers (the client alone does not count). */
export async function dockerAnswers(machine: Machine): Promise<boolean> {
  return (await machine.run("docker", ["info", "--format", "{{.ServerVersion}}"])).exitCode === 0;
}
