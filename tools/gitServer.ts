// The local Git server of an environment (cluster.gitServer), as the tools see it from this
// checkout: whether it holds commits this checkout does not have (Flux's image updates), which
// a destroy would delete with it.
import type { Settings } from "../infra/settings/index.ts";
import type { Machine } from "./machine.ts";

/** A commit on the local Git server's branch that this checkout does not have. */
export interface Unpulled {
  readonly stack: string;
  readonly branch: string;
  readonly commit: string;
}

/**
 * The commit on the local Git server's branch that this checkout (`root`) does not have (with
 * `merged`: that its HEAD does not contain, fetched or not); undefined when it has it, or when the
 * server does not answer (nothing is lost that can be saved).
 */
export async function unpulledCommit(
  { git, stack }: Settings,
  root: string,
  machine: Machine,
  options: { merged?: boolean } = {},
): Promise<Unpulled | undefined> {
  if (git.mode !== "local") return undefined;
  // Never through an HTTP proxy (an empty http.proxy turns proxying off): the server is on 127.0.0.1.
  const listed = await machine.run("git", ["-C", root, "-c", "http.proxy=", "ls-remote", git.server.hostUrl, `refs/heads/${git.branch}`]);
  const commit = listed.exitCode === 0 ? /^([0-9a-f]{40,64})\s/.exec(listed.stdout)?.[1] : undefined;
  if (commit === undefined) return undefined;
  const known = options.merged
    ? await machine.run("git", ["-C", root, "merge-base", "--is-ancestor", commit, "HEAD"])
    : await machine.run("git", ["-C", root, "cat-file", "-e", `${commit}^{commit}`]);
  return known.exitCode === 0 ? undefined : { stack, branch: git.branch, commit };
}

/** What up says first about such a commit: the stack file it applies is this checkout's, without it. */
export const unmergedWarning = ({ stack, branch, commit }: Unpulled) =>
  `gitops: warning: ${stack}: the local Git server holds commit ${commit.slice(0, 7)} on ${branch}, which this checkout's HEAD does not contain ` +
  `(Flux's image updates?): this up applies the stack file as it is here, without it. To roll it out: git pull --autostash ${stack} ${branch}, then npm run up -- ${stack}`;

/** What destroy says first about such a commit, and how to keep it. */
export const unpulledWarning = ({ stack, branch, commit }: Unpulled) =>
  `gitops: warning: ${stack}: the local Git server holds commit ${commit.slice(0, 7)} on ${branch}, which this checkout does not have ` +
  `(Flux's image updates): destroy deletes it with the server. To keep it, first: git pull --autostash ${stack} ${branch}`;
