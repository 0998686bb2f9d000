// How the nodes of a kind cluster learn where to pull a registry's images from: one hosts.toml
// per registry in /etc/containerd/certs.d/<registry>/ on every node, which containerd (its
// config_path, set by the kind config's patch: kindCluster.ts) reads at each pull, so no restart is needed. The
// stack's local registry and the machine's pull-through mirrors both use it. Bash functions,
// for the scripts of local.Command resources; they read KIND_CLUSTER_NAME.
import { registryEnvironmentFlags, registryImage, registryMirrors } from "../settings/index.ts";

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
 * `start_mirror <registry> <container> <upstream>`: starts one pull-through mirror unless it
 * runs (shared by every environment, owned by none: no script of a stack removes it); succeeds
 * when it runs and answers afterwards, also when another environment's `up` started it a moment
 * before. Running is not enough: distribution's proxy pings its upstream as it starts and exits
 * when that fails (registry/handlers/app.go), so offline, with --restart=always, Docker can say
 * "running" between two crashes; nodes pointed at it would wait on it for every pull. Docker Hub
 * credentials, when both are exported, go to its mirror only, passed by name: never on a command
 * line or in a file. `npm run mirrors -- up` runs it too.
 */
export const startMirrorFunction = `start_mirror() {
  local registry="$1" container="$2" upstream="$3" running output=""
  local -a credentials=()
  running="$(docker container inspect --format '{{.State.Running}}' "$container" 2>/dev/null || true)"
  if [ "$running" = false ]; then
    output="$(docker start "$container" 2>&1 >/dev/null)" || true
  elif [ "$running" != true ]; then
    if [ "$registry" = docker.io ] && [ -n "\${DOCKER_HUB_USERNAME:-}" ]; then
      if [ -n "\${DOCKER_HUB_TOKEN:-}" ]; then
        export REGISTRY_PROXY_USERNAME="$DOCKER_HUB_USERNAME" REGISTRY_PROXY_PASSWORD="$DOCKER_HUB_TOKEN"
        credentials=(--env REGISTRY_PROXY_USERNAME --env REGISTRY_PROXY_PASSWORD)
      else
        echo "DOCKER_HUB_USERNAME is set without DOCKER_HUB_TOKEN: the Docker Hub mirror pulls anonymously" >&2
      fi
    fi
    output="$(docker run --detach --restart=always --name "$container" --network kind \\
      --label io.github.gitops-using-flux.mirror="$registry" --volume "$container:/var/lib/registry" \\
      --log-opt max-size=10m ${registryEnvironmentFlags} \\
      --env REGISTRY_PROXY_REMOTEURL="$upstream" \${credentials[@]+"\${credentials[@]}"} \\
      --env REGISTRY_HTTP_DEBUG_ADDR=127.0.0.1:5001 --env REGISTRY_HTTP_DEBUG_PROMETHEUS_ENABLED=true \\
      "${registryImage}" 2>&1 >/dev/null)" || true
  fi
  # Started here, or by another environment's up a moment before (it may still be starting).
  for _ in 1 2 3 4 5; do
    if [ "$(docker container inspect --format '{{.State.Running}}' "$container" 2>/dev/null || true)" = true ] &&
      docker exec "$container" wget -q -O /dev/null http://127.0.0.1:5000/v2/ 2>/dev/null; then
      return 0
    fi
    sleep "\${MIRROR_START_SECONDS:-1}"
  done
  if [ "$(docker container inspect --format '{{.State.Running}}' "$container" 2>/dev/null || true)" = true ]; then
    echo "mirror of $registry (container $container) runs but does not answer: it restarts while it cannot reach $upstream (is this machine offline?)" >&2
  else
    echo "mirror of $registry (container $container) did not start\${output:+: \${output##*$'\\n'}}" >&2
  fi
  return 1
}`;

/** `forget_mirror <registry>`: the nodes pull from that registry directly again. */
const forgetMirrorFunction = `forget_mirror() {
  local nodes node
  nodes="$(kind get nodes --name "$KIND_CLUSTER_NAME")"
  for node in $nodes; do docker exec "$node" rm -rf "/etc/containerd/certs.d/$1"; done
}`;

/**
 * `use_mirrors`: starts the machine's pull-through mirrors that do not run, and points every
 * node at them. Best effort: a mirror that cannot start is skipped, and the nodes pull from its
 * registry directly.
 */
export const useMirrorsFunction = `${startMirrorFunction}
${forgetMirrorFunction}
use_mirrors() {
  local registry container upstream
  while read -r registry container upstream; do
    [ -n "$registry" ] || continue
    if ! start_mirror "$registry" "$container" "$upstream"; then
      echo "the nodes pull from $registry directly" >&2
      forget_mirror "$registry"
      continue
    fi
    node_registry "$registry" "server = \\"$upstream\\"
[host.\\"http://$container:5000\\"]
  capabilities = [\\"pull\\", \\"resolve\\"]"
    echo "kind cluster \\"$KIND_CLUSTER_NAME\\": $registry images come through mirror $container" >&2
  done <<< "\${MIRRORS:-}"
}`;

/** `forget_mirrors`: the nodes pull from every mirrored registry directly again (with useMirrorsFunction, which holds forget_mirror). */
export const forgetMirrorsFunction = `forget_mirrors() {
  local registry container upstream
  while read -r registry container upstream; do
    if [ -n "$registry" ]; then forget_mirror "$registry"; fi
  done <<< "\${MIRRORS:-}"
}`;
