// npm run pulumi -- <pulumi arguments>
// The project's Pulumi CLI (tools/pulumiCli.ts: the release @pulumi/pulumi pins, downloaded on
// first use) with the project's defaults (tools/pulumiDefaults.ts: the local state folder, the
// demo passphrase), in the project folder, for what the other tools do not wrap: `npm run pulumi
// -- stack output --stack dev`, `npm run pulumi -- config set --stack dev --secret githubToken`.
import * as fs from "node:fs";
import { runMain, say, type Io } from "./cli.ts";
import { ensurePulumiCli, pulumiCli, withPulumiCli, type PulumiInstaller } from "./pulumiCli.ts";
import { retainFlux2Release } from "./fluxMigration.ts";
import { demoPassphraseInEffect, pulumiDefaults } from "./pulumiDefaults.ts";
import { PulumiSession } from "./runOne.ts";
import { hasControllingTerminal, type Signals } from "./stopping.ts";

const usage = "usage: npm run pulumi -- <pulumi command and options>   (e.g. npm run pulumi -- stack output --stack dev)";

/**
 * For `up` (or `update`): the stack it names with --stack or -s; null when it names none.
 * undefined for any other command.
 */
export function updatedStack(argv: readonly string[]): string | null | undefined {
  if (argv[0] !== "up" && argv[0] !== "update") return undefined;
  for (const [index, arg] of argv.entries()) {
    if (arg === "--") break;
    if (arg === "--stack" || arg === "-s") return argv[index + 1] ?? null;
    if (arg.startsWith("--stack=")) return arg.slice("--stack=".length);
    if (/^-s[^-]/.test(arg)) return arg.slice(2).replace(/^=/, "");
  }
  return null;
}

export interface PulumiToolDependencies {
  readonly installPulumi?: PulumiInstaller;
  /** @default hasControllingTerminal() */
  readonly terminal?: boolean;
  /** @default process */
  readonly signals?: Signals;
}

export async function main(argv: readonly string[], io: Io, dependencies: PulumiToolDependencies = {}): Promise<number> {
  if (argv.length === 0) {
    say(io.stderr, usage);
    return 2;
  }
  // A secret stored now would be encrypted with a passphrase anyone can read (pulumiDefaults).
  if (argv.includes("config") && argv.some((arg) => arg === "--secret" || arg.startsWith("--secret=")) && demoPassphraseInEffect(io.env)) {
    say(
      io.stderr,
      "gitops: refusing to store a secret under the demo passphrase, which is public: set PULUMI_CONFIG_PASSPHRASE to your own first (and re-encrypt the stack: npm run pulumi -- stack change-secrets-provider --stack <env> passphrase)",
    );
    return 2;
  }
  // An update of a stack made with the flux2 chart must keep that release installed (tools/fluxMigration.ts): name the stack.
  const stack = updatedStack(argv);
  if (stack === null) {
    say(io.stderr, "gitops: name the stack to update: npm run pulumi -- up --stack <env> (or npm run up -- <env>)");
    return 2;
  }
  const cli = pulumiCli(io.env);
  const notReady = await ensurePulumiCli(cli, (line) => say(io.stderr, line), dependencies.installPulumi);
  if (notReady !== undefined) {
    say(io.stderr, `gitops: ${notReady}`);
    return 127;
  }
  const defaults = pulumiDefaults(io.root, io.env);
  if (defaults.stateDirectory) fs.mkdirSync(defaults.stateDirectory, { recursive: true });
  const session = new PulumiSession(
    { ...io, env: withPulumiCli(io.env, cli) },
    defaults.variables,
    dependencies.terminal ?? hasControllingTerminal(),
    dependencies.signals ?? process,
  );
  try {
    if (stack !== undefined) {
      const retained = await retainFlux2Release(stack, "up", session.state(stack), (line) => say(io.stderr, line));
      if (retained !== 0) return retained;
    }
    return (await session.run(argv)).exitCode;
  } finally {
    session.close();
  }
}

if (import.meta.main) runMain(main);
