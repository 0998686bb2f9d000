// A program run on a terminal of its own (a pseudo-terminal, through util-linux's `script`), so
// that a test can press Ctrl-C as a user does: the terminal, not the test, then sends SIGINT to
// every process of its foreground process group, the program and the Pulumi it started alike.
import { spawn } from "node:child_process";

export interface OnTerminal {
  /** Types Ctrl-C on the program's terminal. */
  ctrlC(): void;
  /** The program's exit code and what it printed on its terminal (line ends as "\n"). */
  readonly ended: Promise<{ code: number | null; output: string }>;
}

/** Runs `command args` on a new terminal; its environment is `env` only. */
export function onTerminal(command: string, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv }): OnTerminal {
  const quoted = [command, ...args].map((word) => `'${word.replaceAll("'", `'\\''`)}'`).join(" ");
  // exec: no shell in between, whose own reaction to the SIGINT would change the exit code.
  const child = spawn("script", ["--quiet", "--return", "--echo", "never", "--command", `exec ${quoted}`, "/dev/null"], {
    cwd: options.cwd,
    env: { ...options.env, SHELL: "/bin/sh" },
    stdio: ["pipe", "pipe", "inherit"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const ended = new Promise<{ code: number | null; output: string }>((resolve) =>
    child.on("close", (code) => resolve({ code, output: output.replaceAll("\r\n", "\n") })),
  );
  // Kept open until the end: `script` ends the session when its input ends.
  void ended.then(() => child.stdin.destroy());
  return { ctrlC: () => child.stdin.write("\x03"), ended };
}
