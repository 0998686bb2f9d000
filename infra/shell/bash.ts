// What every bash script of the program shares: how it is run, and how a create script undoes
// what it made when it fails. The scripts themselves sit beside the resources that run them;
// the bash the tools run too lives in this folder, which both may import.

/** No rc files: nothing a user's shell start-up prints may end up in the kubeconfig on stdout. */
export const interpreter = ["/bin/bash", "--norc", "--noprofile", "-c"];

/**
 * Bash for a create script: once it sets `created=1`, a failure, or a SIGINT or SIGTERM sent to
 * the script itself (run by hand), runs `undo` before it exits, saying "<what> failed (exit N):
 * <undoing>". Pulumi records nothing for a failed create, so what it left would block the next
 * `up` by its name. When Pulumi cancels (Ctrl-C), @pulumi/command kills the script with SIGKILL:
 * no trap runs, so each create script also leaves a mark of what it makes, which the next
 * create of the same stack reads to clear the leftover by itself.
 */
export const undoOnFailure = (what: string, undoing: string, undo: string) => `created=""
remove_on_failure() {
  local status=$?
  if [ "$status" -ne 0 ] && [ -n "$created" ]; then
    echo "${what} failed (exit $status): ${undoing}, so the next 'up' can start over" >&2
    ${undo}
  fi
  exit "$status"
}
trap remove_on_failure EXIT
# Without these traps bash would die of the signal without running the EXIT trap.
trap 'exit 130' INT
trap 'exit 143' TERM`;
