// npm run up|preview|destroy -- <env> [pulumi options...]
// Runs the Pulumi CLI for one environment's stack with the project's embedded defaults:
// the local state backend of Pulumi.yaml (unless PULUMI_BACKEND_URL says otherwise), the
// demo passphrase (unless PULUMI_CONFIG_PASSPHRASE[_FILE] is set), the stack created on first use.
import { spawn, spawnSync } from "node:child_process";
import { listStacks } from "../offline/stackConfig";

export const lifecycleCommands = ["up", "preview", "destroy"] as const;
export type LifecycleCommand = (typeof lifecycleCommands)[number];

/** Passphrase of the demo stacks' secrets when the user sets none. Not a secret: demo clusters only. */
export const demoPassphrase = "gitops-demo";

export interface Plan {
  /** Variables added to the caller's environment. */
  readonly environment: Record<string, string>;
  /** Pulumi CLI invocations, in order. */
  readonly invocations: readonly (readonly string[])[];
  /** Lines for the user about the defaults in effect. */
  readonly notes: readonly string[];
}

export function planLifecycle(
  command: LifecycleCommand,
  stack: string,
  pulumiArgs: readonly string[],
  env: NodeJS.ProcessEnv,
): Plan {
  const environment: Record<string, string> = {};
  const notes: string[] = [];
  const localBackend = !env.PULUMI_BACKEND_URL;
  notes.push(
    localBackend
      ? "state: local backend .pulumi-state/ (Pulumi.yaml); set PULUMI_BACKEND_URL to use another"
      : `state: ${env.PULUMI_BACKEND_URL} (PULUMI_BACKEND_URL)`,
  );
  if (localBackend && !env.PULUMI_CONFIG_PASSPHRASE && !env.PULUMI_CONFIG_PASSPHRASE_FILE) {
    environment.PULUMI_CONFIG_PASSPHRASE = demoPassphrase;
    notes.push(`secrets: demo passphrase "${demoPassphrase}"; set PULUMI_CONFIG_PASSPHRASE to use your own`);
  }
  const select = ["stack", "select", "--create", stack];
  // On the local backend, secrets are encrypted with the passphrase; elsewhere the backend's default applies.
  if (localBackend) select.push("--secrets-provider", "passphrase");
  return { environment, invocations: [select, [command, "--stack", stack, ...pulumiArgs]], notes };
}

function run(args: readonly string[], environment: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn("pulumi", args, { stdio: "inherit", env: environment });
    child.on("error", (error) => {
      console.error(`gitops: could not run pulumi: ${error.message}`);
      resolve(1);
    });
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 130 : 1)));
  });
}

async function main(argv: string[]): Promise<number> {
  const [command, stack, ...pulumiArgs] = argv;
  const usage = `usage: npm run ${command ?? "up"} -- <env> [pulumi options]   (environments: ${listStacks().join(", ")})`;
  if (!lifecycleCommands.includes(command as LifecycleCommand) || !stack || stack.startsWith("-")) {
    console.error(usage);
    return 2;
  }
  if (!listStacks().includes(stack)) {
    console.error(`gitops: no environment "${stack}": Pulumi.${stack}.yaml does not exist\n${usage}`);
    return 2;
  }
  if (spawnSync("pulumi", ["version"], { stdio: "ignore" }).error) {
    console.error("gitops: the Pulumi CLI is not on PATH; install it: https://www.pulumi.com/docs/iac/download-install/");
    return 127;
  }
  const plan = planLifecycle(command as LifecycleCommand, stack, pulumiArgs, process.env);
  plan.notes.forEach((note) => console.error(`gitops: ${note}`));
  // Ctrl-C reaches pulumi too (same process group); it cancels cleanly, then we exit with its code.
  process.on("SIGINT", () => undefined);
  const environment = { ...process.env, ...plan.environment };
  for (const invocation of plan.invocations) {
    const code = await run(invocation, environment);
    if (code !== 0) return code;
  }
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
