// Git sync: the repository Flux applies a path of, and writes new image tags back to. The URL
// is parsed once; the result is off, ssh (a generated or supplied key) or https (a token).
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { described, fluxDuration, fluxShortDuration, hidden, nonEmpty, section, string, yesNo } from "./fields.ts";
import { branchProblem, knownHostsProblems } from "./gitRules.ts";
import type { LocalGitServer } from "./registries.ts";
import type { SecretValues } from "./secrets.ts";

/** Flux bootstrap's names for the sync objects and their Secret; `flux reconcile` users know them. */
export const syncName = "flux-system";

/** GitHub's published SSH host keys (docs.github.com, "GitHub's SSH key fingerprints"). */
export const githubKnownHosts = [
  "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
  "github.com ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEmKSENjQEezOmxkZMy7opKgwFB9nkt5YRrYMjNuG5N87uRgg6CLrbo5wAdT/y6v0mKV0U2w0WZ2YB/++Tpockg=",
  "github.com ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQCj7ndNxQowgcQnjshcLrqPEiiphnt+VTTvDP6mHBL9j1aNUkY4Ue1gvwnGLVlOhGeYrnZaMgRK6+PKCUXaDbC7qtbW8gIkhL7aGCsOr/C56SJMy/BCZfxd1nWzAOxSDPgVsmerOBYfNqltV9/hWCqBywINIR+5dIg6JTJ72pcEpEjcYgXkE2YEFXV1JHnsKgbLWNlhScqb2UmyRkQyytRLtL+38TGxkxCflmO+5Z8CSSNY7GidjMIZ7Q4zMjA2n1nGrlTDkzwDCsw+wqFPGQA179cnfGWOWRVruj16z6XyvxvjJwbz0wQZ75XK5tKSb7FNyeIEs4TT4jk+S4dhPeAUC5y+bDYirYgM4GC7uEnztnZyaVWQ7B381AK4Qdrwt51ZqExKbQpTUNn+EjqoTwvqNj4kqx5QUCI0ThS/YkOxJCXmPUWZbhjpCg56i+2aB6CmK2JGhn57K5mj0MNdBXA4/WnwH6XoPWJzK5Nyu2zB3nAZp+S5hpQs+p1vN1/wsjk=",
].join("\n");

/** A Git repository URL Flux accepts, taken apart. */
export interface GitLocation {
  readonly url: string;
  /** `http`: only the local Git server's, on kind's network (a user's URL is ssh:// or https://). */
  readonly scheme: "ssh" | "https" | "http";
  readonly host: string;
  /** The port, when the URL names one. */
  readonly port?: number;
  /** owner/repo, without a trailing .git */
  readonly repository: string;
}

// The scp-like form the demo used (git@github.com:owner/repo.git): Flux rejects it.
const scpLikeUrl = /^(?<user>[\w.-]+)@(?<host>[\w.-]+):(?!\/\/)(?<path>.+)$/;

/**
 * Parses a repository URL; an error message says what is allowed. `secret`: the URL carries a
 * credential, so the value must not be shown.
 */
export function parseGitUrl(url: string): GitLocation | { error: string; secret?: true } {
  const scp = scpLikeUrl.exec(url);
  if (scp?.groups) {
    return {
      error: `must be an ssh:// or https:// URL: Flux does not accept the scp form; use ssh://${scp.groups.user}@${scp.groups.host}/${scp.groups.path?.replace(/^\/+/, "")}`,
    };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { error: "must be an ssh:// or https:// URL such as ssh://git@github.com/owner/repo.git" };
  }
  const scheme = parsed.protocol.replace(/:$/, "");
  if (scheme !== "https" && scheme !== "ssh") return { error: `must be an ssh:// or https:// URL (${scheme}:// is not supported)` };
  const repository = parsed.pathname
    .replace(/^\/+/, "")
    .replace(/\.git$/, "")
    .replace(/\/+$/, "");
  // Credentials in a URL end up in the cluster's objects, Flux's events and the stack outputs.
  if (scheme === "https" && (parsed.username || parsed.password)) {
    return {
      error:
        "must not carry credentials: store the token encrypted (pulumi config set --secret gitToken <token>, with git.username if not git)",
      secret: true,
    };
  }
  if (scheme === "ssh" && parsed.password) {
    return {
      error: "must not carry a password: SSH uses a key (the generated deploy key, or pulumi config set --secret gitSshPrivateKey < key)",
      secret: true,
    };
  }
  if (!parsed.hostname || !repository.includes("/"))
    return { error: "must name a host and a repository, such as ssh://git@github.com/owner/repo.git" };
  return { url, scheme, host: parsed.hostname, repository, ...(parsed.port !== "" && { port: Number(parsed.port) }) };
}

/** The page where a deploy key is added, for repositories on GitHub. */
export function deployKeyPage(location: GitLocation): string | undefined {
  return location.host === "github.com" ? `https://github.com/${location.repository}/settings/keys/new` : undefined;
}

const repositoryUrl = z.string({ error: "must be an ssh:// or https:// URL" }).transform((url, ctx): GitLocation => {
  const location = parseGitUrl(url);
  if ("error" in location) {
    ctx.addIssue({ code: "custom", input: location.secret ? hidden : url, message: location.error });
    return z.NEVER;
  }
  return location;
});

const branchName = string("must be a branch name").superRefine((name, ctx) => {
  const problem = branchProblem(name);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

export const gitSchema = (stack: string) =>
  described(
    section({
      url: described(repositoryUrl.optional(), "the repository Flux syncs: `ssh://git@host/owner/repo(.git)` or `https://host/owner/repo`"),
      branch: described(branchName.default("main"), "the branch Flux checks out (and pushes image updates to)"),
      path: described(
        z
          .string({ error: "must be a path inside the repository, such as ./stacks/dev/apps" })
          .refine((value) => value.trim() !== "" && !value.startsWith("/") && !value.split("/").includes(".."), {
            error: "must be a path inside the repository, such as ./stacks/dev/apps (not empty, no '..', not absolute)",
          })
          .default(`./stacks/${stack}/apps`),
        "the folder Flux applies, relative to the repository root",
      ),
      interval: described(
        fluxDuration("1m or 5m").default("5m"),
        "how often Flux polls the repository and re-applies (the demo's `pollInterval`)",
      ),
      prune: described(yesNo().default(true), "delete from the cluster what is deleted from Git (the demo's garbage collection)"),
      timeout: described(
        fluxShortDuration("20s or 1m").default("20s"),
        "timeout of Git operations (the demo's `git.timeout`; `ms`, `s`, `m`: Flux takes no hours here)",
      ),
      healthTimeout: described(fluxDuration("2m or 5m").default("3m"), "how long Flux waits for what it applied to become healthy"),
      knownHosts: described(
        z.string({ error: "must be known_hosts lines (ssh-keyscan <host>)" }).optional(),
        "`known_hosts` lines of the SSH host (`ssh-keyscan <host>`); required for other SSH hosts",
      ),
      readOnly: described(yesNo().default(true), "the deploy key is read-only; must be `false` for image updates over SSH"),
      username: described(nonEmpty("must be a user name").default("git"), "user name that goes with `gitToken` over HTTPS"),
      imageUpdates: described(
        section({
          // Off unless set, but on by default with the local Git server (resolveGit).
          enabled: yesNo().optional(),
          interval: fluxDuration("1m or 5m").default("5m"),
          // Set together or not at all: a commit needs both. Flux's own documented bot (fluxcd.io
          // image update guide), not the talk's "Weave Flux <support@weave.works>": Git hosts
          // credit commits to whoever now owns that address.
          author: section({
            name: nonEmpty("must be a name"),
            email: z.email({ error: "must be an email address" }),
          }).default({ name: "fluxcdbot", email: "fluxcdbot@users.noreply.github.com" }),
        }).prefault({}),
        "`enabled` (default `false`; `true` with the local Git server), `interval` (`5m`), `author` (`name` and `email`, both; default `fluxcdbot` / `fluxcdbot@users.noreply.github.com`, Flux's documented bot; the talk's \"Weave Flux\" address belongs to a defunct company): commit new image tags back",
      ),
    })
      .superRefine((git, ctx) => {
        const issue = (path: PropertyKey[], input: unknown, message: string) => ctx.addIssue({ code: "custom", path, input, message });
        if (git.imageUpdates.enabled === true) {
          // An SSH deploy key's access is chosen where it is added; an HTTPS token carries its own rights.
          if (git.readOnly && git.url?.scheme === "ssh") {
            issue(["readOnly"], true, "must be false when imageUpdates.enabled: Flux pushes commits (give the deploy key write access)");
          }
        }
        if (git.url?.scheme === "ssh" && git.url.host !== "github.com" && !git.knownHosts) {
          issue(
            ["knownHosts"],
            undefined,
            `must list ${git.url.host}'s SSH host keys (ssh-keyscan ${git.url.host}): only github.com's are built in`,
          );
        }
        if (git.knownHosts !== undefined && git.url?.scheme === "ssh") {
          const problems = knownHostsProblems(git.knownHosts, git.url.host, git.url.port);
          if (problems.length > 0)
            issue(["knownHosts"], git.knownHosts, `must be known_hosts lines for the repository's host: ${problems.join("; ")}`);
        }
      })
      .prefault({}),
    "Git sync (off unless url is set, or cluster.gitServer is on): url (ssh:// or https://), branch, path, interval, prune, timeout, healthTimeout, knownHosts, readOnly, username, imageUpdates {enabled, interval, author}.",
  );

type ParsedGit = z.output<ReturnType<typeof gitSchema>>;

/** What both transports share: where Flux reads, what it applies, how it writes image tags back. */
interface GitSyncCommon {
  readonly location: GitLocation;
  readonly branch: string;
  readonly path: string;
  readonly interval: string;
  readonly prune: boolean;
  readonly timeout: string;
  readonly healthTimeout: string;
  /** Commit new image tags back: undefined when off. */
  readonly imageUpdates?: { readonly interval: string; readonly author: { readonly name: string; readonly email: string } };
}

/** Over SSH, with a key the stack generates, or the user's own (a Pulumi secret). */
export interface SshGitSettings extends GitSyncCommon {
  readonly mode: "ssh";
  readonly knownHosts: string;
  /** Whether the deploy key is added read-only (image updates need write access). */
  readonly readOnly: boolean;
  readonly key:
    | { readonly kind: "generated"; readonly addedBy?: GithubDeployKeyAccess }
    | { readonly kind: "supplied"; readonly privateKey: pulumi.Output<string> };
}

/** How the stack adds its generated deploy key to a github.com repository itself. */
export interface GithubDeployKeyAccess {
  /** The repository's owner (user or organization) and name. */
  readonly owner: string;
  readonly name: string;
  /** A token that may add deploy keys to it (a Pulumi secret). */
  readonly token: pulumi.Output<string>;
  /** Where the token came from: the secret setting, or the environment. */
  readonly tokenFrom: "githubToken" | "GITHUB_TOKEN";
}

/** Over HTTPS: public, or with a token (a Pulumi secret) as the password of `username`. */
export interface HttpsGitSettings extends GitSyncCommon {
  readonly mode: "https";
  readonly username: string;
  readonly token?: pulumi.Output<string>;
}

/** From the local Git server beside the kind cluster (cluster.gitServer): plain HTTP on kind's network, no credentials. */
export interface LocalGitSettings extends GitSyncCommon {
  readonly mode: "local";
  readonly server: LocalGitServer;
}

export type GitSettings = { readonly mode: "off" } | SshGitSettings | HttpsGitSettings | LocalGitSettings;

/**
 * The parsed section as off, ssh, https or local, with the secret that goes with the scheme.
 * `environmentToken`: GITHUB_TOKEN, which the stack uses like the githubToken setting.
 * `localServer`: the kind cluster's local Git server, when it is on: with no git.url, Flux syncs from it.
 */
export function resolveGit(
  git: ParsedGit,
  project: string,
  secrets: SecretValues,
  problems: string[],
  environmentToken?: string,
  localServer?: LocalGitServer,
): GitSettings {
  const { url: location } = git;
  const hidden = (name: string, message: string) => problems.push(`${project}:${name}: (value hidden) — ${message}`);
  const githubTokenUnused = (why: string) =>
    hidden("githubToken", `is only used to add the generated deploy key to an ssh://git@github.com repository; ${why}`);
  // What Flux reads and how often, whichever repository it is.
  const { branch, path, interval, prune, timeout, healthTimeout } = git;
  const fetching = { branch, path, interval, prune, timeout, healthTimeout };
  const imageUpdates = (byDefault: boolean) =>
    (git.imageUpdates.enabled ?? byDefault) && { imageUpdates: { interval: git.imageUpdates.interval, author: git.imageUpdates.author } };
  if (location === undefined) {
    if (secrets.githubToken !== undefined) githubTokenUnused("git.url is not set");
    if (localServer === undefined) {
      if (git.imageUpdates.enabled === true) {
        problems.push(
          `${project}:git.imageUpdates.enabled: true — needs a repository: set git.url, or turn on cluster.gitServer (image updates are commits to it)`,
        );
      }
      return { mode: "off" };
    }
    return {
      mode: "local",
      server: localServer,
      location: {
        url: localServer.clusterUrl,
        scheme: "http",
        host: localServer.containerName,
        port: 23232,
        repository: localServer.repository,
      },
      ...fetching,
      ...imageUpdates(true),
    };
  }
  const common: GitSyncCommon = { location, ...fetching, ...imageUpdates(false) };
  if (location.scheme === "ssh") {
    if (secrets.gitToken !== undefined) hidden("gitToken", "is only used with https:// URLs; git.url is ssh://");
    const { gitSshPrivateKey, githubToken } = secrets;
    if (gitSshPrivateKey !== undefined) {
      if (githubToken !== undefined) githubTokenUnused("gitSshPrivateKey is set, so the stack generates no deploy key");
      return {
        ...common,
        mode: "ssh",
        knownHosts: git.knownHosts ?? githubKnownHosts,
        readOnly: git.readOnly,
        key: { kind: "supplied", privateKey: pulumi.secret(gitSshPrivateKey) },
      };
    }
    // An empty GITHUB_TOKEN counts as unset, as the GitHub provider reads it.
    const token = githubToken ?? (environmentToken?.trim() === "" ? undefined : environmentToken);
    let addedBy: GithubDeployKeyAccess | undefined;
    if (location.host !== "github.com") {
      if (githubToken !== undefined) githubTokenUnused(`git.url's host is ${location.host}`);
    } else if (token !== undefined) {
      const [owner, name, ...rest] = location.repository.split("/");
      if (owner && name && rest.length === 0) {
        addedBy = { owner, name, token: pulumi.secret(token), tokenFrom: githubToken !== undefined ? "githubToken" : "GITHUB_TOKEN" };
      } else {
        problems.push(
          `${project}:git.url: ${JSON.stringify(location.url)} — must be ssh://git@github.com/<owner>/<repository>(.git) to add the deploy key with a GitHub token`,
        );
      }
    }
    return {
      ...common,
      mode: "ssh",
      knownHosts: git.knownHosts ?? githubKnownHosts,
      readOnly: git.readOnly,
      key: { kind: "generated", ...(addedBy && { addedBy }) },
    };
  }
  if (secrets.gitSshPrivateKey !== undefined) hidden("gitSshPrivateKey", "is only used with ssh:// URLs; git.url is https://");
  if (secrets.githubToken !== undefined) githubTokenUnused("git.url is https:// (its token is gitToken)");
  if (git.imageUpdates.enabled && secrets.gitToken === undefined) {
    problems.push(
      `${project}:gitToken: (missing) — must be set when git.imageUpdates.enabled over https://: Flux pushes commits (pulumi config set --secret gitToken <token>)`,
    );
  }
  return {
    ...common,
    mode: "https",
    username: git.username,
    ...(secrets.gitToken !== undefined && { token: pulumi.secret(secrets.gitToken) }),
  };
}
