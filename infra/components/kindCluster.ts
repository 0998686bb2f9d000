// A kind cluster owned by the stack, and the one Kubernetes provider built from its kubeconfig.
import * as path from "node:path";
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import type { PortMapping } from "../settings/index.ts";
import { componentType, type Cluster } from "./cluster.ts";
import { interpreter, undoOnFailure } from "../shell/bash.ts";
import { forgetMirrorsFunction, mirrorsVariable, nodeRegistryFunction, useMirrorsFunction } from "../shell/nodeRegistries.ts";

export interface KindClusterArgs {
  /** Cluster name; kind names the nodes `<name>-control-plane`, `<name>-worker`, ... */
  readonly clusterName: string;
  /** Node image pinned by tag and digest. */
  readonly nodeImage: string;
  /** Worker nodes besides the control plane. */
  readonly workers: number;
  /** How long `kind create cluster --wait` (and then `kubectl wait` for every node) waits (Go duration). */
  readonly waitTimeout: string;
  /**
   * Host ports forwarded to the control-plane node.
   * @default none
   */
  readonly extraPortMappings?: readonly PortMapping[];
  /** Directory the kind commands run in (the project root). */
  readonly workDir: string;
  /** Where kind keeps this cluster's kubeconfig, relative to workDir; never ~/.kube/config. */
  readonly kubeconfigFile: string;
  /** The stack's name, for the hints in error messages. */
  readonly stack: string;
  /**
   * Pull through the machine's pull-through mirrors (started if need be, never removed here).
   * @default false
   */
  readonly mirrors?: boolean;
}

/**
 * containerd reads the registries' hosts.toml files (the local registry, the mirrors) only where
 * its `config_path` is set. containerd 2.2 and later default it, as in kind v0.32's node image
 * (containerd 2.3.1), but kind's own config sets none, so an older `nodeImage` would ignore
 * them silently. kind's documented patch sets it on every image (site/content/docs/user/
 * private-registries.md; kind's node config is containerd's version 2 format).
 */
export const registryConfigPatch = `[plugins."io.containerd.grpc.v1.cri".registry]
  config_path = "/etc/containerd/certs.d"`;

/** The kind configuration (kind.x-k8s.io/v1alpha4, which kind decodes strictly). */
export function kindClusterConfig(args: Pick<KindClusterArgs, "nodeImage" | "workers" | "extraPortMappings">) {
  const controlPlane: Record<string, unknown> = { role: "control-plane", image: args.nodeImage };
  if (args.extraPortMappings?.length) {
    controlPlane.extraPortMappings = args.extraPortMappings.map((mapping) => ({ ...mapping }));
  }
  const workers = Array.from({ length: args.workers }, () => ({ role: "worker", image: args.nodeImage }));
  return {
    kind: "Cluster",
    apiVersion: "kind.x-k8s.io/v1alpha4",
    containerdConfigPatches: [registryConfigPatch],
    nodes: [controlPlane, ...workers],
  };
}

// The scripts read their parameters from the environment, so the text stored in state
// never changes with the settings. Progress goes to stderr; stdout carries only the
// kubeconfig, which is a secret output and never logged.

// Finding the cluster: `grep -q` would stop reading at the first match; kind, still writing,
// would then die of SIGPIPE and `pipefail` would turn a found cluster into a missing one.
// So grep reads everything.

/** With USE_MIRRORS=true the new cluster's nodes pull through the mirrors. All on stderr. */
const mirrorsOnCreate = `${nodeRegistryFunction}
${useMirrorsFunction}
if [ "\${USE_MIRRORS:-false}" = true ]; then use_mirrors >&2; fi`;

/** Mirrors turned on or off for a running cluster: its nodes follow. All on stderr. */
const mirrorsOnUpdate = `${nodeRegistryFunction}
${useMirrorsFunction}
${forgetMirrorsFunction}
if [ "\${USE_MIRRORS:-false}" = true ]; then use_mirrors >&2; else forget_mirrors >&2; fi`;

/**
 * Who made the cluster: a file beside its kubeconfig (\`.kube/<cluster>.stack\`) naming the
 * stack, written before \`kind create\` starts and removed when the cluster is deleted. A cluster
 * of the stack's name that this file gives to this stack, while Pulumi has none in its state, was
 * left by an interrupted \`up\` of this very stack (or forgotten by its state): the next create
 * deletes it and starts over. Any other cluster of that name is refused.
 */
const ownerFile = `owner_file="\${KIND_KUBECONFIG%.yaml}.stack"`;

/**
 * Creates the cluster from the kind config on stdin and prints its kubeconfig. A failure after
 * `kind create` starts (a node that never gets Ready) deletes the cluster again; a leftover of
 * this stack's own interrupted create is cleared first (see ownerFile).
 */
export const createScript = `set -euo pipefail
${ownerFile}
# When kind cannot tell (Docker down), stop here: a failed create must never delete a cluster it did not make.
clusters="$(kind get clusters)" || { echo "kind get clusters failed: is Docker running?" >&2; exit 1; }
if grep -xF -- "$KIND_CLUSTER_NAME" <<< "$clusters" >/dev/null; then
  if [ "$(cat "$owner_file" 2>/dev/null || true)" = "$PULUMI_STACK_NAME" ]; then
    echo "kind cluster \\"$KIND_CLUSTER_NAME\\" was left by an interrupted 'up' of stack \\"$PULUMI_STACK_NAME\\": deleting it, then creating it again" >&2
    kind delete cluster --name "$KIND_CLUSTER_NAME" --kubeconfig "$KIND_KUBECONFIG" >&2
  else
    echo "kind cluster \\"$KIND_CLUSTER_NAME\\" already exists, but stack \\"$PULUMI_STACK_NAME\\" did not create it. Either delete it: kind delete cluster --name $KIND_CLUSTER_NAME -- or give this stack another cluster name: pulumi config set --stack $PULUMI_STACK_NAME --path cluster.name <new-name>" >&2
    exit 1
  fi
fi
${undoOnFailure(
  'creating kind cluster \\"$KIND_CLUSTER_NAME\\"',
  "deleting it",
  `kind delete cluster --name "$KIND_CLUSTER_NAME" --kubeconfig "$KIND_KUBECONFIG" >&2 || echo "could not delete it: kind delete cluster --name $KIND_CLUSTER_NAME" >&2
    rm -f "$KIND_KUBECONFIG" "$owner_file"`,
)}
mkdir -p "$(dirname "$KIND_KUBECONFIG")"
# The name was free a moment ago: from here on, a cluster of that name is this script's, and the
# mark says so before kind starts (a SIGKILL now leaves both).
printf '%s\\n' "$PULUMI_STACK_NAME" > "$owner_file"
created=1
kind create cluster --name "$KIND_CLUSTER_NAME" --config - --kubeconfig "$KIND_KUBECONFIG" --wait "$KIND_WAIT" >&2
# kind --wait returns 0 even when it times out; kubectl, when installed, makes it fail.
if command -v kubectl >/dev/null 2>&1; then
  kubectl --kubeconfig "$KIND_KUBECONFIG" wait --for=condition=Ready nodes --all --timeout="$KIND_WAIT" >&2
fi
${mirrorsOnCreate}
kind get kubeconfig --name "$KIND_CLUSTER_NAME"`;

/** Runs when only non-shaping inputs change (mirrors on or off): re-reads the kubeconfig, creates nothing. */
export const updateScript = `set -euo pipefail
if ! kind get clusters 2>/dev/null | grep -xF -- "$KIND_CLUSTER_NAME" >/dev/null; then
  echo "kind cluster \\"$KIND_CLUSTER_NAME\\" is gone (deleted outside Pulumi). Start over: npm run destroy -- $PULUMI_STACK_NAME (with PULUMI_K8S_DELETE_UNREACHABLE=true if Pulumi reports the cluster unreachable), then npm run up -- $PULUMI_STACK_NAME" >&2
  exit 1
fi
${mirrorsOnUpdate}
kind get kubeconfig --name "$KIND_CLUSTER_NAME"`;

/**
 * Fails when kind fails (Pulumi would otherwise drop a running cluster from the state);
 * idempotent, since kind deletes a missing cluster without error.
 */
export const deleteScript = `set -euo pipefail
${ownerFile}
kind delete cluster --name "$KIND_CLUSTER_NAME" --kubeconfig "$KIND_KUBECONFIG" >&2
rm -f "$KIND_KUBECONFIG" "$owner_file"`;

export class KindCluster extends pulumi.ComponentResource implements Cluster {
  readonly clusterName: string;
  readonly kubeconfig: pulumi.Output<string>;
  readonly provider: k8s.Provider;
  readonly deletedWith: command.local.Command;
  /** Absolute path of the kubeconfig file kind writes. */
  readonly kubeconfigPath: string;
  readonly contextName: string;
  readonly kubeconfigExport: string;

  constructor(name: string, args: KindClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentType("KindCluster"), name, {}, opts);
    const kindConfig = YAML.stringify(kindClusterConfig(args));

    const kind = new command.local.Command(
      `${name}-kind`,
      {
        create: createScript,
        update: updateScript,
        delete: deleteScript,
        stdin: kindConfig,
        interpreter,
        dir: args.workDir,
        environment: {
          KIND_CLUSTER_NAME: args.clusterName,
          KIND_KUBECONFIG: args.kubeconfigFile,
          KIND_WAIT: args.waitTimeout,
          PULUMI_STACK_NAME: args.stack,
          USE_MIRRORS: String(args.mirrors ?? false),
          MIRRORS: mirrorsVariable,
          // Non-interactive bash sources $BASH_ENV despite --norc: nothing may print before the kubeconfig.
          BASH_ENV: "",
        },
        // The name is fixed, so a changed cluster must be deleted before it is created again.
        triggers: [args.clusterName, kindConfig],
        logging: "stderr",
        addPreviousOutputInEnv: false,
      },
      { parent: this, additionalSecretOutputs: ["stdout"], deleteBeforeReplace: true },
    );

    this.clusterName = args.clusterName;
    this.deletedWith = kind;
    this.kubeconfigPath = path.resolve(args.workDir, args.kubeconfigFile);
    this.contextName = `kind-${args.clusterName}`;
    this.kubeconfigExport = `export KUBECONFIG=${this.kubeconfigPath}`;
    this.kubeconfig = pulumi.secret(
      kind.stdout.apply((kubeconfig) => {
        if (!kubeconfig?.trim()) {
          throw new pulumi.ResourceError(
            `kind printed no kubeconfig for cluster "${args.clusterName}"; refusing to fall back to the default kubeconfig`,
            this,
          );
        }
        return kubeconfig;
      }),
    );
    this.provider = new k8s.Provider(
      `${name}-provider`,
      {
        kubeconfig: this.kubeconfig,
        context: this.contextName,
        // A new cluster gets a new Command id: the provider is replaced exactly then.
        clusterIdentifier: kind.id,
      },
      { parent: this },
    );
    this.registerOutputs({ clusterName: this.clusterName, kubeconfig: this.kubeconfig, contextName: this.contextName });
  }
}
