// A local image registry beside the stack's kind cluster, as kind's guide runs one
// (kind.sigs.k8s.io/docs/user/local-registry): a registry container on kind's Docker network,
// containerd on every node told to pull from it over HTTP, and the `local-registry-hosting`
// ConfigMap of KEP-1755. Owned by the stack like the cluster: created after it, deleted before it.
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { demoImage, registryEnvironmentFlags, registryImage, type LocalRegistry as LocalRegistrySettings } from "../settings/index.ts";
import { componentType, inCluster, type ClusterConnection } from "./cluster.ts";
import { claimContainerName, containerOwnerLabel, interpreter, undoOnFailure } from "../shell/bash.ts";
import { nodeRegistryFunction } from "../shell/nodeRegistries.ts";

/**
 * The registry's names and port; with `serverImage`, the talk's image is pushed under that path
 * and tag as the registry starts, so the server's first pull finds it.
 */
export interface LocalRegistryArgs extends LocalRegistrySettings {
  /** The kind cluster whose nodes pull from the registry. */
  readonly clusterName: string;
  /** The command that made the kind cluster: the registry follows it (a new cluster, a new registry). */
  readonly kindCluster: command.local.Command;
  /** The stack's name, for the hints in error messages. */
  readonly stack: string;
  /** The project folder the scripts run in: with the stack, it says whose a container is. */
  readonly workDir: string;
  /** The cluster the KEP-1755 ConfigMap goes into. */
  readonly cluster: ClusterConnection;
}

// The scripts read their parameters from the environment, like the kind scripts: the text
// stored in state never changes with the settings. Progress goes to stderr.

/** Points every node's containerd at the registry, and pushes the seed image. Run on create and on update: both idempotent. */
const configureNodesAndSeed = `${nodeRegistryFunction}
node_registry "$REGISTRY_HOST" "[host.\\"http://$REGISTRY_HOST\\"]
  capabilities = [\\"pull\\", \\"resolve\\"]"
echo "kind cluster \\"$KIND_CLUSTER_NAME\\": its nodes pull $REGISTRY_HOST/... from registry container $REGISTRY_NAME" >&2
if [ -n "\${SEED_FROM:-}" ]; then
  # The talk's image is built for amd64 only.
  docker image inspect "$SEED_FROM" >/dev/null 2>&1 || docker pull --platform linux/amd64 "$SEED_FROM" >&2
  docker tag "$SEED_FROM" "localhost:$REGISTRY_PORT/$SEED_TO"
  # A registry that has just started may not answer yet.
  for attempt in 1 2 3 4 5; do
    if docker push "localhost:$REGISTRY_PORT/$SEED_TO" >&2; then break; fi
    if [ "$attempt" = 5 ]; then exit 1; fi
    sleep "$REGISTRY_RETRY_SECONDS"
  done
fi`;

/**
 * Starts the registry container on kind's network, publishing its port on 127.0.0.1 only,
 * then configures the nodes. A failure after the container exists removes it again (it would
 * block the next `up` by its name and port). The container carries the stack and project folder
 * that started it (containerOwnerLabel): one of this stack's own that Pulumi has no record of
 * (an \`up\` cancelled while this ran: @pulumi/command then kills it with SIGKILL, and no trap
 * runs) is removed and started again; any other container of that name is refused.
 */
export const registryCreateScript = `set -euo pipefail
${claimContainerName("REGISTRY_NAME", "registry container")}
${undoOnFailure(
  'starting registry \\"$REGISTRY_NAME\\"',
  "removing it",
  'docker rm -f "$REGISTRY_NAME" >/dev/null || echo "could not remove it: docker rm -f $REGISTRY_NAME" >&2',
)}
# The name was free a moment ago: from here on, a container of that name is this script's.
created=1
docker run --detach --restart=always --name "$REGISTRY_NAME" --network kind \\
  --label "${containerOwnerLabel}=$owner" --log-opt max-size=10m ${registryEnvironmentFlags} \\
  --publish "127.0.0.1:$REGISTRY_PORT:5000" "$REGISTRY_IMAGE" >&2
${configureNodesAndSeed}`;

/** Runs when only the seed changes (the stack's image tag): configures again and pushes it. */
export const registryUpdateScript = `set -euo pipefail
if [ "$(docker container inspect --format '{{.State.Running}}' "$REGISTRY_NAME" 2>/dev/null)" != "true" ]; then
  echo "registry container \\"$REGISTRY_NAME\\" is not running (removed or stopped outside Pulumi). Start over: npm run destroy -- $PULUMI_STACK_NAME, then npm run up -- $PULUMI_STACK_NAME" >&2
  exit 1
fi
${configureNodesAndSeed}`;

/**
 * Fails when Docker fails; idempotent, as `docker rm --force` of a missing container succeeds.
 * With its anonymous volume (the image's /var/lib/registry), which Docker would otherwise keep.
 */
export const registryDeleteScript = `set -euo pipefail
docker rm --force --volumes "$REGISTRY_NAME" >&2`;

export class LocalRegistry extends pulumi.ComponentResource {
  /** The container, its host name for the nodes and Flux, and its port on the host. */
  readonly description: string;
  /** The registry container's command: what must exist before anything pulls from it. */
  readonly container: command.local.Command;

  constructor(name: string, args: LocalRegistryArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentType("LocalRegistry"), name, {}, opts);

    this.container = new command.local.Command(
      `${name}-container`,
      {
        create: registryCreateScript,
        update: registryUpdateScript,
        delete: registryDeleteScript,
        interpreter,
        dir: args.workDir,
        environment: {
          REGISTRY_NAME: args.containerName,
          REGISTRY_HOST: args.host,
          REGISTRY_PORT: String(args.hostPort),
          REGISTRY_IMAGE: registryImage,
          REGISTRY_RETRY_SECONDS: "2",
          KIND_CLUSTER_NAME: args.clusterName,
          PULUMI_STACK_NAME: args.stack,
          BASH_ENV: "",
          ...(args.serverImage && { SEED_FROM: demoImage, SEED_TO: `${args.serverImage.path}:${args.serverImage.tag}` }),
        },
        // The name and port are fixed, and a new cluster has new nodes to configure: replace
        // (delete first) exactly then. A new seed only runs the update.
        triggers: [args.containerName, args.hostPort, registryImage, args.kindCluster.id],
        logging: "stderr",
        addPreviousOutputInEnv: false,
      },
      { parent: this, dependsOn: [args.kindCluster], deleteBeforeReplace: true },
    );

    // KEP-1755: how tools find the cluster's local registry (kube-public, readable by everyone).
    new k8s.core.v1.ConfigMap(
      `${name}-hosting`,
      {
        metadata: { name: "local-registry-hosting", namespace: "kube-public" },
        data: {
          "localRegistryHosting.v1": [
            `host: "localhost:${args.hostPort}"`,
            `hostFromContainerRuntime: "${args.host}"`,
            `hostFromClusterNetwork: "${args.host}"`,
            `help: "https://kind.sigs.k8s.io/docs/user/local-registry/"`,
            "",
          ].join("\n"),
        },
      },
      inCluster(this, args.cluster),
    );

    this.description = `${args.host} (container ${args.containerName}; push to localhost:${args.hostPort})`;
    this.registerOutputs({ description: this.description });
  }
}
