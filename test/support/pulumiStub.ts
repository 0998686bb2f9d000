// A stand-in for the Pulumi CLI that fails where the real one fails before it runs anything:
// the state backend. Pulumi takes PULUMI_BACKEND_URL, else Pulumi.yaml's `backend.url`; a
// `file://` folder is resolved against the directory the CLI runs in and never created
// (pkg/backend/diy, pulumi/pulumi#15841), so every command but `version` fails without it.
// `stack select --create` writes the stack into that folder, as the real one does.
// Each call is appended to $STUB_CALLS when that is set.

/** Bash source of the stub; `body` runs after the backend check, with "$@" as given. */
export function pulumiStubScript(body = ""): string {
  return `#!/usr/bin/env bash
[ "$1" = version ] && { echo v3.270.0; exit 0; }
[ -n "\${STUB_CALLS:-}" ] && echo "$* | cwd=$PWD" >> "$STUB_CALLS"
url="\${PULUMI_BACKEND_URL:-$(sed -n 's/^  url: *//p' Pulumi.yaml 2>/dev/null)}"
case "$url" in file://*)
  dir="\${url#file://}"
  if [ ! -d "$dir" ]; then
    echo "error: unable to open state directory \\"$url\\": open $(realpath -m "$dir"): no such file or directory" >&2
    exit 255
  fi
  if [ "$1 $2 $3" = "stack select --create" ]; then
    mkdir -p "$dir/.pulumi/stacks/gitops" && touch "$dir/.pulumi/stacks/gitops/$4.json"
  fi ;;
esac
${body}
exit 0
`;
}
