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

/** The label that says which stack, of which project folder, started a container beside a kind cluster. */
export const containerOwnerLabel = "io.github.gitops-using-flux.owner";

/**
 * Bash for a create script that starts the container named by `$<nameVariable>`: it sets `owner`
 * (the stack and the project folder, for the container's `containerOwnerLabel`), removes a
 * container of that name that carries this owner (one an \`up\` cancelled while the script ran
 * left: Pulumi has no record of it) and refuses any other, naming it.
 */
export const claimContainerName = (nameVariable: string, what: string) => `owner="$PULUMI_STACK_NAME $PWD"
if docker container inspect "$${nameVariable}" >/dev/null 2>&1; then
  if [ "$(docker container inspect --format '{{index .Config.Labels "${containerOwnerLabel}"}}' "$${nameVariable}" 2>/dev/null || true)" = "$owner" ]; then
    echo "${what} \\"$${nameVariable}\\" was left by an interrupted 'up' of stack \\"$PULUMI_STACK_NAME\\": removing it, then starting it again" >&2
    docker rm --force --volumes "$${nameVariable}" >&2
  else
    echo "a container named \\"$${nameVariable}\\" already exists, but stack \\"$PULUMI_STACK_NAME\\" of this project folder did not start it. Remove it: docker rm -f $${nameVariable}" >&2
    exit 1
  fi
fi`;
