// How the nodes of a kind cluster learn where to pull a registry's images from: one hosts.toml
// per registry in /etc/containerd/certs.d/<registry>/ on every node, which containerd (kind node
// images since v0.27 set config_path there) reads at each pull, so no restart is needed. The
// stack's local registry and the machine's pull-through mirrors both use it. Bash functions,
// for the scripts of local.Command resources; they read KIND_CLUSTER_NAME.
import { registryImage, registryMirrors } from "../settings";

/** `node_registry <registry> <hosts.toml>`: writes the file on every node of the cluster. */
export const nodeRegistryFunction = `node_registry() {
  local registry="$1" toml="$2" nodes node
  nodes="$(kind get nodes --name "$KIND_CLUSTER_NAME")"
  if [ -z "$nodes" ]; then
    echo "kind cluster \\"$KIND_CLUSTER_NAME\\" has no nodes to configure. Start over: npm run destroy -- $PULUMI_STACK_NAME, then npm run up -- $PULUMI_STACK_NAME" >&2
    return 1
  fi
  for node in $nodes; do
    docker exec "$node" mkdir -p "/etc/containerd/certs.d/$registry"
    printf '%s\\n' "$toml" | docker exec -i "$node" cp /dev/stdin "/etc/containerd/certs.d/$registry/hosts.toml"
  done
}`;

/** The MIRRORS variable of the kind scripts: one line per mirror, `<registry> <container> <upstream>`. */
export const mirrorsVariable = registryMirrors.map((mirror) => `${mirror.registry} ${mirror.container} ${mirror.upstream}`).join("\n");

/**
 * `use_mirrors`: starts the machine's pull-through mirrors that are not running (shared by every
 * environment, owned by none: no script ever removes them), and points every node at them. Safe
 * when another environment's `up` starts them at the same moment. Best effort: a mirror that
 * cannot start is skipped, and the nodes pull from its registry directly.
 */
export const useMirrorsFunction = `use_mirrors() {
  local registry container upstream running
  local -a credentials
  while read -r registry container upstream; do
    [ -n "$registry" ] || continue
    running="$(docker container inspect --format '{{.State.Running}}' "$container" 2>/dev/null || true)"
    if [ "$running" = false ]; then
      docker start "$container" >/dev/null 2>&1 || true
    elif [ -z "$running" ]; then
      # Docker Hub credentials, when exported, go to its mirror only, passed by name: never on a
      # command line or in a file.
      credentials=()
      if [ "$registry" = docker.io ] && [ -n "\${DOCKER_HUB_USERNAME:-}" ]; then
        export REGISTRY_PROXY_USERNAME="$DOCKER_HUB_USERNAME" REGISTRY_PROXY_PASSWORD="\${DOCKER_HUB_TOKEN:-}"
        credentials=(--env REGISTRY_PROXY_USERNAME --env REGISTRY_PROXY_PASSWORD)
      fi
      docker run --detach --restart=always --name "$container" --network kind \\
        --label io.github.gitops-using-flux.mirror="$registry" --volume "$container:/var/lib/registry" \\
        --env REGISTRY_PROXY_REMOTEURL="$upstream" \${credentials[@]+"\${credentials[@]}"} \\
        --env REGISTRY_HTTP_DEBUG_ADDR=127.0.0.1:5001 --env REGISTRY_HTTP_DEBUG_PROMETHEUS_ENABLED=true \\
        "${registryImage}" >/dev/null 2>&1 || true
    fi
    # Started by this run, or by another environment's at the same moment: either will do.
    if [ "$(docker container inspect --format '{{.State.Running}}' "$container" 2>/dev/null || true)" != true ]; then
      echo "mirror of $registry (container $container) did not start: the nodes pull from $registry directly" >&2
      continue
    fi
    node_registry "$registry" "server = \\"$upstream\\"
[host.\\"http://$container:5000\\"]
  capabilities = [\\"pull\\", \\"resolve\\"]"
    echo "kind cluster \\"$KIND_CLUSTER_NAME\\": $registry images come through mirror $container" >&2
  done <<< "$MIRRORS"
}`;

/** `forget_mirrors`: the nodes pull from each mirrored registry directly again (mirrors turned off). */
export const forgetMirrorsFunction = `forget_mirrors() {
  local registry container upstream node
  for node in $(kind get nodes --name "$KIND_CLUSTER_NAME"); do
    while read -r registry container upstream; do
      if [ -n "$registry" ]; then docker exec "$node" rm -rf "/etc/containerd/certs.d/$registry"; fi
    done <<< "$MIRRORS"
  done
}`;
