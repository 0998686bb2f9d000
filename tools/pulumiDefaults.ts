// What the npm scripts add to a Pulumi run so it works with no account and no setup: the local
// state backend of Pulumi.yaml (its folder created if gone), the demo passphrase for the demo's
// secrets, and a refusal to keep real secrets under that public passphrase. A backend or
// passphrase the user sets is never overridden.
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { isMapping, secretSettings } from "../infra/settings/index.ts";
import type { StackConfig } from "./offline/stackConfig.ts";

/** Passphrase of the demo stacks' secrets when the user sets none. Not a secret: demo clusters only. */
export const demoPassphrase = "gitops-demo";

export interface PulumiDefaults {
  /** Variables added to the user's environment for every Pulumi run. */
  readonly variables: Record<string, string>;
  /** The secrets provider a new stack gets: the passphrase on the local backend, else the backend's default. */
  readonly secretsProvider?: "passphrase";
  /** The local state folder to create before Pulumi runs (it does not create it). */
  readonly stateDirectory?: string;
  /** Lines for the user about the defaults in effect. */
  readonly notes: readonly string[];
}

export function pulumiDefaults(root: string, env: NodeJS.ProcessEnv): PulumiDefaults {
  if (env.PULUMI_BACKEND_URL) return { variables: {}, notes: [`state: ${env.PULUMI_BACKEND_URL} (PULUMI_BACKEND_URL)`] };
  const notes = ["state: local backend .pulumi-state/ (Pulumi.yaml); set PULUMI_BACKEND_URL to use another"];
  const variables: Record<string, string> = {};
  if (!env.PULUMI_CONFIG_PASSPHRASE && !env.PULUMI_CONFIG_PASSPHRASE_FILE) {
    variables.PULUMI_CONFIG_PASSPHRASE = demoPassphrase;
    notes.push(`secrets: demo passphrase "${demoPassphrase}"; set PULUMI_CONFIG_PASSPHRASE to use your own`);
  }
  return { variables, secretsProvider: "passphrase", stateDirectory: projectStateDirectory(root), notes };
}

/**
 * The folder of Pulumi.yaml's `file://` state backend, absolute; undefined for any other backend.
 * The Pulumi CLI resolves it against the directory it runs in and never creates it.
 */
export function projectStateDirectory(root: string): string | undefined {
  const project: unknown = YAML.parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8"));
  const url = isMapping(project) && isMapping(project.backend) ? project.backend.url : undefined;
  return typeof url === "string" && url.startsWith("file://") ? path.resolve(root, url.slice("file://".length)) : undefined;
}

/** Whether the demo passphrase is what encrypts: unset or empty, it is (pulumiDefaults). */
export function demoPassphraseInEffect(env: NodeJS.ProcessEnv): boolean {
  const userPassphrase = env.PULUMI_CONFIG_PASSPHRASE;
  return !env.PULUMI_BACKEND_URL && !env.PULUMI_CONFIG_PASSPHRASE_FILE && (!userPassphrase || userPassphrase === demoPassphrase);
}

/**
 * Secret settings a stack file stores while the demo passphrase encrypts them. That passphrase
 * is published and the file (with its salt) is committed: anyone with the repository could
 * decrypt them. One problem per stack; empty when none.
 */
export function publicPassphraseProblems(stacks: readonly StackConfig[], env: NodeJS.ProcessEnv): string[] {
  if (!demoPassphraseInEffect(env)) return [];
  return stacks.flatMap(({ stack, project, secretKeys }) => {
    const stored = secretKeys.filter((key) => key.startsWith(`${project}:`) && key.slice(project.length + 1) in secretSettings);
    return stored.length === 0
      ? []
      : [
          `Pulumi.${stack}.yaml stores ${stored.map((key) => key.slice(project.length + 1)).join(", ")} encrypted with the demo passphrase, ` +
            `which is public: anyone with the repository can read it. Set PULUMI_CONFIG_PASSPHRASE to your own and re-encrypt ` +
            `(pulumi stack change-secrets-provider --stack ${stack} passphrase), or remove it (pulumi config rm --stack ${stack} <key>)`,
        ];
  });
}
