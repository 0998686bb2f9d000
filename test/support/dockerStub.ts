// Stand-ins for `docker` and `kind get nodes`, as the registry and mirror scripts call them, which
// fail as the real tools do. Written into a test's bin folder and driven by environment variables.

/**
 * Docker. Containers are files in $STUB_DIR/containers/<name> (the `docker run` arguments; a
 * second line `stopped` marks one that is not running); images pulled or tagged are lines of
 * $STUB_DIR/images; node files written through `docker exec` land under $STUB_DIR/nodes/<node>/
 * (the nodes are those of $STUB_NODES; `exec wget` in a registry container gets its answer;
 * `exec` into any other container fails as Docker does).
 * Without a daemon ($STUB_NO_DAEMON) every command fails as the CLI does. `docker rm --force` of
 * a missing container succeeds (docker/cli#2678, Docker 20.10+); without --force, `rm` of a
 * missing or running container fails with the daemon's words (docker/cli v28.5.2 rm.go, moby
 * daemon/delete.go); `inspect` of a missing one fails; `inspect --format` answers the templates
 * the scripts use, {{.State.Running}} and {{index .Config.Labels "<key>"}} (`run`'s --label
 * values, `<no value>` for a missing one), and refuses any other. `run`
 * of a name in use fails with the daemon's Conflict; $STUB_RUN_FAILS names containers whose `run`
 * fails as a failed image pull does; $STUB_RUN_RACES names containers another process starts
 * just before this `run` (which then meets the Conflict). A push fails $STUB_PUSH_FAILS times, as
 * against a registry still starting. `network inspect kind` fails with $STUB_NO_KIND_NETWORK (no
 * cluster was ever made). Every call is logged to $STUB_LOG, the environment variables
 * `run` passes by name to $STUB_DIR/env-<name>.
 */
export const stubDocker = `#!/usr/bin/env bash
echo "docker $*" >> "$STUB_LOG"
if [ -n "\${STUB_NO_DAEMON:-}" ]; then
  echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2
  exit 1
fi
containers="$STUB_DIR/containers"; [ -d "$containers" ] || mkdir -p "$containers"; : >> "$STUB_DIR/images"
case "$1" in
  info) echo "28.2.2" ;;
  container)
    [ "$2" = inspect ] || exit 2
    name="\${@: -1}"
    if [ ! -f "$containers/$name" ]; then echo "Error response from daemon: No such container: $name" >&2; exit 1; fi
    if [ "$3" = --format ]; then
      case "$4" in
        "{{.State.Running}}") if grep -qx stopped "$containers/$name"; then echo false; else echo true; fi ;;
        "{{index .Config.Labels \\""*"\\"}}")
          key="\${4#*\\"}"; key="\${key%%\\"*}"
          value="$(grep -m1 "^$key=" "$STUB_DIR/labels-$name" 2>/dev/null | cut -d= -f2-)" || true
          echo "\${value:-<no value>}" ;;
        *) echo "docker stub: the template $4 is not modelled" >&2; exit 64 ;;
      esac
    else
      echo "[{\\"Name\\": \\"/$name\\"}]"
    fi ;;
  run)
    shift; args="$*"; name=""; passed=()
    labels=()
    while [ $# -gt 0 ]; do
      [ "$1" = --name ] && name="$2"
      [ "$1" = --label ] && labels+=("$2")
      if [ "$1" = --env ] && [[ "$2" != *=* ]]; then passed+=("$2=\${!2:-}"); fi
      shift
    done
    case " \${STUB_RUN_RACES:-} " in *" $name "*) echo "started by another" > "$containers/$name" ;; esac
    if [ -f "$containers/$name" ]; then
      echo "docker: Error response from daemon: Conflict. The container name \\"/$name\\" is already in use." >&2; exit 125
    fi
    case " \${STUB_RUN_FAILS:-} " in *" $name "*)
      echo "docker: Error response from daemon: toomanyrequests: You have reached your unauthenticated pull rate limit." >&2; exit 125 ;;
    esac
    echo "$args" > "$containers/$name"
    [ \${#labels[@]} -gt 0 ] && printf '%s\\n' "\${labels[@]}" > "$STUB_DIR/labels-$name"
    [ \${#passed[@]} -gt 0 ] && printf '%s\\n' "\${passed[@]}" > "$STUB_DIR/env-$name"
    if [ -n "\${STUB_PORT_TAKEN:-}" ]; then
      echo "docker: Error response from daemon: driver failed programming external connectivity: Bind for 127.0.0.1:$STUB_PORT_TAKEN failed: port is already allocated." >&2
      exit 125
    fi
    echo 3f4e5d6c7b8a ;;
  network)
    if [ "$2 $3" != "inspect kind" ] || [ -n "\${STUB_NO_KIND_NETWORK:-}" ]; then
      echo "Error response from daemon: network \${@: -1} not found" >&2; exit 1
    fi
    echo '[{"Name": "kind"}]' ;;
  start)
    if [ ! -f "$containers/$2" ]; then echo "Error response from daemon: No such container: $2" >&2; exit 1; fi
    sed -i '/^stopped$/d' "$containers/$2"; echo "$2" ;;
  exec)
    shift; [ "$1" = -i ] && shift
    node="$1"; shift
    # A registry container answers on /v2/, unless it is one of $STUB_RESTARTING: Docker says
    # it runs (between two crashes), but nothing can be run in it.
    if [ -f "$containers/$node" ] && [ "$1" = wget ]; then
      case " \${STUB_RESTARTING:-} " in *" $node "*)
        echo "Error response from daemon: Container $node is restarting, wait until the container is running" >&2; exit 1 ;;
      esac
      case " $* " in *" -O /dev/null "*) ;; *) echo "{}" ;; esac
      exit 0
    fi
    case " \${STUB_NODES:-} " in *" $node "*) ;; *)
      echo "Error response from daemon: No such container: $node" >&2; exit 1 ;;
    esac
    case "$1" in
      mkdir) mkdir -p "$STUB_DIR/nodes/$node$3" ;;
      cp) cat > "$STUB_DIR/nodes/$node$3" ;;
      rm) rm -rf "$STUB_DIR/nodes/$node$3" ;;
      *) exit 2 ;;
    esac ;;
  image)
    [ "$2" = inspect ] || exit 2
    grep -qxF -- "$3" "$STUB_DIR/images" || { echo "Error: No such image: $3" >&2; exit 1; } ;;
  pull) echo "\${@: -1}" >> "$STUB_DIR/images"; echo "Status: Downloaded newer image for \${@: -1}" ;;
  tag)
    grep -qxF -- "$2" "$STUB_DIR/images" || { echo "Error response from daemon: No such image: $2" >&2; exit 1; }
    echo "$3" >> "$STUB_DIR/images" ;;
  push)
    attempts="$STUB_DIR/push-attempts"; echo x >> "$attempts"
    if [ "$(wc -l < "$attempts")" -le "\${STUB_PUSH_FAILS:-0}" ]; then
      echo "Get \\"http://localhost:5001/v2/\\": dial tcp 127.0.0.1:5001: connect: connection refused" >&2; exit 1
    fi
    echo "$2: digest: sha256:0123 size: 1570" ;;
  rm)
    name="\${@: -1}"; force=""
    for arg in "$@"; do case "$arg" in -f|--force) force=1 ;; esac; done
    if [ ! -f "$containers/$name" ]; then
      echo "Error response from daemon: No such container: $name" >&2
      [ -n "$force" ] && exit 0 || exit 1
    fi
    if [ -z "$force" ] && ! grep -qx stopped "$containers/$name"; then
      echo "Error response from daemon: cannot remove container \\"$name\\": container is running: stop the container before removing or force remove" >&2
      exit 1
    fi
    rm -f "$containers/$name" "$STUB_DIR/labels-$name"; echo "$name" ;;
  *) echo "docker stub: $*" >&2; exit 2 ;;
esac
`;

/**
 * kind get nodes: the nodes of $STUB_NODES (none: kind prints nothing and succeeds when the
 * cluster is missing); kind get clusters: those of $STUB_CLUSTERS.
 */
export const stubKindNodes = `#!/usr/bin/env bash
echo "kind $*" >> "$STUB_LOG"
case "$1 $2" in
  "get nodes") for node in \${STUB_NODES:-}; do echo "$node"; done ;;
  "get clusters") for cluster in \${STUB_CLUSTERS:-}; do echo "$cluster"; done ;;
  *) echo "kind stub: $*" >&2; exit 2 ;;
esac
`;
