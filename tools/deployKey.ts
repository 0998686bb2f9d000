// A deploy key the stack added to GitHub can go behind its back: GitHub deletes the deploy keys a
// token added when that token is deleted (or a user removes one by hand). Flux then cannot fetch,
// and `destroy` fails, because the GitHub provider's Delete passes GitHub's 404 through while its
// Read drops a key that is gone from the state (terraform-provider-github,
// resource_github_repository_deploy_key.go, v6.9 to v6.13). So before `up` and `destroy`, a stack
// whose state records such a key refreshes that key alone, and says so when it was gone; `doctor`
// asks the same question without changing the state. The program runs for it (--run-program), so
// the provider uses the token set now, not the one recorded with the key.
import { execFile } from "node:child_process";
import type { Settings } from "../infra/settings/index.ts";
import type { CheckResult } from "./preflight.ts";

/** The Pulumi type of the deploy key (@pulumi/github). */
export const deployKeyType = "github:index/repositoryDeployKey:RepositoryDeployKey";

/**
 * A --target for the deploy key alone, wherever it sits in the tree. A glob (Pulumi's URN
 * globs: `**` any text, `*` within a segment), because a literal URN that is not in the state
 * fails the whole run. Providers are always included (pulumi/pulumi#13557).
 */
export const deployKeyTarget = `**${deployKeyType}::*`;

/** The key a stack's settings may have added: a generated deploy key on a github.com repository. */
export interface GithubDeployKey {
  readonly environment: string;
  /** `owner/name` on github.com. */
  readonly repository: string;
  /** Where the token comes from, for the advice when GitHub refuses it. */
  readonly tokenFrom: "githubToken" | "GITHUB_TOKEN" | "unknown";
}

/** The deploy key the environment's stack may have added itself; undefined when it adds none. */
export function githubDeployKey({ stack, git }: Settings): GithubDeployKey | undefined {
  if (git.mode !== "ssh" || git.key.kind !== "generated" || git.location.host !== "github.com") return undefined;
  // Tools read the stack file, not the environment: a token from GITHUB_TOKEN is not seen here.
  return {
    environment: stack,
    repository: git.location.repository.replace(/\.git$/, ""),
    tokenFrom: git.key.addedBy?.tokenFrom ?? "unknown",
  };
}

/** How many deploy keys an exported deployment (`pulumi stack export`) records; 0 when it is not one. */
export function recordedDeployKeys(exported: string): number {
  let resources: unknown;
  try {
    resources = (JSON.parse(exported) as { deployment?: { resources?: unknown } }).deployment?.resources;
  } catch {
    return 0;
  }
  if (!Array.isArray(resources)) return 0;
  return resources.filter((resource: { type?: unknown; delete?: unknown }) => resource.type === deployKeyType && resource.delete !== true)
    .length;
}

/** Deploy keys a refresh preview would drop, from its JSON digest (`pulumi refresh --preview-only --json`). */
export function keysGoneInPreview(digest: string): number {
  let steps: unknown;
  try {
    steps = (JSON.parse(digest) as { steps?: unknown }).steps;
  } catch {
    return 0;
  }
  if (!Array.isArray(steps)) return 0;
  const keyUrn = new RegExp(`[:$]${deployKeyType.replace(/[/]/g, "\\/")}::[^:]*$`);
  return steps.filter(
    (step: { op?: unknown; urn?: unknown }) => step.op === "delete" && typeof step.urn === "string" && keyUrn.test(step.urn),
  ).length;
}

const why = "GitHub deletes the deploy keys a token added when that token is deleted";

/** Said when the refresh found the key gone: what it meant, and what happens now. */
export function keyGoneMessage(key: GithubDeployKey, command: "up" | "destroy"): string {
  return (
    `gitops: ${key.environment}: the deploy key the stack added to github.com/${key.repository} is no longer there (${why}, or someone removed it): ` +
    `Flux could not fetch since. It is dropped from the state; ` +
    (command === "up" ? "this update adds it again." : "there is nothing left to remove on GitHub.")
  );
}

/** Advice when the refresh failed: most often GitHub refused a deleted or expired token. */
export function keyCheckFailedMessage(key: GithubDeployKey): string {
  const setting = `pulumi config set --secret --stack ${key.environment} githubToken <new token>`;
  const variable = "export GITHUB_TOKEN=<new token>";
  const newToken = key.tokenFrom === "GITHUB_TOKEN" ? variable : key.tokenFrom === "githubToken" ? setting : `${setting}, or ${variable}`;
  return (
    `gitops: ${key.environment}: could not check the deploy key on github.com/${key.repository} (Pulumi's error above). ` +
    `If GitHub answered 401 Bad credentials, the token was deleted or has expired (and ${why}): ` +
    `set a new one that may administer the repository (${newToken}) and run this again. The token must live as long as the stack.`
  );
}

/** What a stack's Pulumi runs need, to check its deploy key. */
export interface DeployKeyPulumi {
  /** `pulumi stack export` of the stack; undefined when it cannot be read (no such stack yet). */
  exportState(): Promise<string | undefined>;
  /** Refreshes the deploy key alone, with the program run; Pulumi's exit code. */
  refreshKey(): Promise<number>;
}

/** The arguments of the refresh of the deploy key alone; `previewOnly`: change nothing, print the JSON digest. */
export const refreshKeyArgs = (stack: string, previewOnly = false) => [
  "refresh",
  "--stack",
  stack,
  ...(previewOnly ? ["--preview-only", "--json"] : ["--yes", "--non-interactive"]),
  "--run-program",
  "--target",
  deployKeyTarget,
];

/**
 * Before `up` or `destroy`: when the state records the key, refreshes it alone and says when it
 * was gone. Pulumi's exit code (0: go on).
 */
export async function refreshDeployKey(
  key: GithubDeployKey,
  command: "up" | "destroy",
  pulumi: DeployKeyPulumi,
  say: (line: string) => void,
): Promise<number> {
  const before = recordedDeployKeys((await pulumi.exportState()) ?? "");
  if (before === 0) return 0;
  say(`gitops: ${key.environment}: checking that the deploy key is still on github.com/${key.repository} (${why})`);
  const exitCode = await pulumi.refreshKey();
  if (exitCode !== 0) {
    say(keyCheckFailedMessage(key));
    return exitCode;
  }
  if (recordedDeployKeys((await pulumi.exportState()) ?? "") < before) say(keyGoneMessage(key, command));
  return 0;
}

export interface CapturedRun {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the Pulumi CLI with its output captured, for as long as it takes (the program runs). */
export function capturePulumi(
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; command?: string },
): Promise<CapturedRun> {
  return new Promise((resolve) => {
    execFile(
      options.command ?? "pulumi",
      [...args],
      { cwd: options.cwd, env: options.env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = (error as { code?: unknown } | null)?.code;
        resolve({
          exitCode: error ? (typeof code === "number" ? code : 1) : 0,
          stdout,
          stderr: error && typeof code !== "number" ? `${stderr}${error.message}\n` : stderr,
        });
      },
    );
  });
}

/** `doctor`: for each stack whose state records the deploy key, whether GitHub still has it (the state is not changed). */
export async function deployKeyChecks(
  keys: readonly GithubDeployKey[],
  run: (args: readonly string[]) => Promise<CapturedRun>,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const key of keys) {
    const exported = await run(["stack", "export", "--stack", key.environment]);
    // No stack yet, or no key in it: nothing was added that could be gone.
    if (exported.exitCode !== 0 || recordedDeployKeys(exported.stdout) === 0) continue;
    const preview = await run(refreshKeyArgs(key.environment, true));
    const where = `github.com/${key.repository}`;
    if (preview.exitCode !== 0) {
      const error =
        preview.stderr.split("\n").find((line) => line.startsWith("error: ")) ?? `pulumi refresh exited with ${preview.exitCode}`;
      results.push({
        name: "deploy key",
        status: "fail",
        detail: `${key.environment}: ${error}. ${keyCheckFailedMessage(key).replace(/^gitops: [^:]+: /, "")}`,
      });
    } else if (keysGoneInPreview(preview.stdout) > 0) {
      results.push({
        name: "deploy key",
        status: "fail",
        detail: `${key.environment}: the deploy key the stack added to ${where} is no longer there (${why}): Flux cannot fetch — npm run up -- ${key.environment} adds it again`,
      });
    } else {
      results.push({ name: "deploy key", status: "ok", detail: `${key.environment}: on ${where}` });
    }
  }
  return results;
}
