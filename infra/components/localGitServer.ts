// A Git server beside the stack's kind cluster, so the whole GitOps loop runs with no account:
// Flux syncs from it and pushes image updates to it over kind's Docker network; the user pushes
// to it over 127.0.0.1. Soft Serve in a container, like the local registry (localRegistry.ts):
// created after the cluster, filled with this checkout's commit, deleted before the cluster.
//
// Anonymous read-write over plain HTTP, on purpose: the server is reachable only from kind's
// Docker network and the host's loopback (the same reach as the local registry), so there is no
// credential for Flux or the user to manage; a repository elsewhere keeps today's deploy keys.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { gitServerImage, type LocalGitServer as LocalGitServerSettings } from "../settings/index.ts";
import { claimContainerName, containerOwnerLabel, interpreter, undoOnFailure } from "../shell/bash.ts";
import { componentType } from "./cluster.ts";

export interface LocalGitServerArgs extends LocalGitServerSettings {
  /** The branch the commit goes to, and Flux checks out. */
  readonly branch: string;
  /** The command that made the kind cluster: the server follows it (a new cluster, a new server). */
  readonly kindCluster: command.local.Command;
  /** The stack's name, for the hints in error messages and the remote's name. */
  readonly stack: string;
  /** The project folder: its Git checkout fills the server, and with the stack it says whose the container is. */
  readonly workDir: string;
}

// Parameters come from the environment, as in the other scripts: the text stored in state never
// changes with the settings. Progress goes to stderr.

/**
 * Checks that there is a commit to serve (before anything starts), starts the server on kind's
 * network with its HTTP port on 127.0.0.1 only, and pushes the checkout's HEAD to the branch,
 * saying what it leaves out. A failure after the container exists removes it again.
 */
export const gitServerCreateScript = `set -euo pipefail
if ! command -v git >/dev/null; then
  echo "git is not installed, and the local Git server is filled from this checkout with it: install git, then npm run up -- $PULUMI_STACK_NAME" >&2
  exit 1
fi
if ! commit="$(git rev-parse --verify --quiet HEAD 2>/dev/null)"; then
  echo "this project folder is not a Git repository with a commit, so the local Git server would have nothing to serve: git init && git add -A && git commit -m 'GitOps demo', then npm run up -- $PULUMI_STACK_NAME" >&2
  exit 1
fi
# A shallow clone's history cannot be pushed into an empty repository.
if [ "$(git rev-parse --is-shallow-repository)" = true ]; then
  echo "this checkout is shallow (git clone --depth), and a Git server cannot take a shallow history: git fetch --unshallow, then npm run up -- $PULUMI_STACK_NAME" >&2
  exit 1
fi
${claimContainerName("GIT_NAME", "Git server container")}
${undoOnFailure(
  'starting Git server \\"$GIT_NAME\\"',
  "removing it",
  'docker rm --force --volumes "$GIT_NAME" >/dev/null || echo "could not remove it: docker rm -f $GIT_NAME" >&2',
)}
created=1
docker run --detach --restart=always --name "$GIT_NAME" --network kind \\
  --label "${containerOwnerLabel}=$owner" --log-opt max-size=10m \\
  --env SOFT_SERVE_ANON_ACCESS=read-write --env SOFT_SERVE_HTTP_PUBLIC_URL="http://127.0.0.1:$GIT_PORT" \\
  --publish "127.0.0.1:$GIT_PORT:23232" "$GIT_IMAGE" >&2
changed="$(git status --porcelain --untracked-files=no | cut -c4- | tr '\n' ' ')"
if [ -n "$changed" ]; then
  echo "uncommitted changes (\${changed% }) are not pushed to the local Git server: it gets commit \${commit:0:7}; commit them, then git push $PULUMI_STACK_NAME HEAD:$GIT_BRANCH (Pulumi writes a new stack's encryptionsalt into its stack file: commit that once too)" >&2
fi
# A server that has just started may not answer yet; never ask for a password (there is none).
for attempt in $(seq 1 "$GIT_ATTEMPTS"); do
  # Never through an HTTP proxy: an empty http.proxy turns proxying off, whatever http_proxy says.
  if GIT_TERMINAL_PROMPT=0 git -c http.proxy= push --quiet "$GIT_HOST_URL" "HEAD:refs/heads/$GIT_BRANCH" >&2; then break; fi
  if [ "$attempt" = "$GIT_ATTEMPTS" ]; then
    echo "the local Git server does not take the push of this checkout to $GIT_HOST_URL (see above)" >&2
    exit 1
  fi
  sleep "$GIT_RETRY_SECONDS"
done
echo "local Git server \\"$GIT_NAME\\" holds commit \${commit:0:7} on $GIT_BRANCH: git remote add $PULUMI_STACK_NAME $GIT_HOST_URL" >&2`;

/** Fails when Docker fails; idempotent, as `docker rm --force` of a missing container succeeds. */
export const gitServerDeleteScript = `set -euo pipefail
docker rm --force --volumes "$GIT_NAME" >&2`;

export class LocalGitServer extends pulumi.ComponentResource {
  /** Where the repository is, for the stack outputs. */
  readonly description: string;
  /** The remote to add to this checkout, as a command. */
  readonly remote: string;
  /** The server container's command: what Flux's first fetch waits for. */
  readonly container: command.local.Command;

  constructor(name: string, args: LocalGitServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentType("LocalGitServer"), name, {}, opts);

    this.container = new command.local.Command(
      `${name}-container`,
      {
        create: gitServerCreateScript,
        delete: gitServerDeleteScript,
        interpreter,
        dir: args.workDir,
        environment: {
          GIT_NAME: args.containerName,
          GIT_PORT: String(args.hostPort),
          GIT_HOST_URL: args.hostUrl,
          GIT_BRANCH: args.branch,
          GIT_IMAGE: gitServerImage,
          GIT_ATTEMPTS: "15",
          GIT_RETRY_SECONDS: "2",
          PULUMI_STACK_NAME: args.stack,
          BASH_ENV: "",
        },
        // Everything it is made of is fixed once made: a change starts a new, freshly filled
        // server (delete first: the name and port are taken). What Flux committed goes with the
        // old one, like everything in a replaced cluster.
        triggers: [args.containerName, args.hostPort, args.branch, gitServerImage, args.kindCluster.id],
        logging: "stderr",
        addPreviousOutputInEnv: false,
      },
      { parent: this, dependsOn: [args.kindCluster], deleteBeforeReplace: true },
    );

    this.remote = `git remote add ${args.stack} ${args.hostUrl}`;
    this.description = `${args.hostUrl} (container ${args.containerName}; Flux reads ${args.clusterUrl})`;
    this.registerOutputs({ description: this.description, remote: this.remote });
  }
}
