// The cluster: a kind cluster the stack creates and deletes, or an existing one it only
// deploys into (with its kubeconfig). Parsed into one of the two.
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { described, goDuration, nonEmpty, oneOf, section, text, wholeNumber } from "./fields";
import { show } from "./problems";
import { resolveUserPath } from "./project";
import type { SecretValues } from "./secrets";

/** kind v0.32.0's default node image (its release notes), Kubernetes v1.36.1. */
export const defaultNodeImage = "kindest/node:v1.36.1@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5";

/** Flux 2.8 supports Kubernetes 1.33 and newer. */
const minimumKubernetesMinor = 33;

/** Where kind keeps a cluster's kubeconfig, relative to the project root (git-ignored). */
export const kubeconfigFile = (clusterName: string) => path.join(".kube", `${clusterName}.yaml`);

// kind rejects other cluster names (pkg/internal/apis/config/validate.go).
const kindClusterName = /^[a-z0-9.-]+$/;
const pinnedNodeImage = /^[a-z0-9][a-z0-9._/:-]*:v(?<major>[0-9]+)\.(?<minor>[0-9]+)\.[0-9]+@sha256:[a-f0-9]{64}$/;

const nodeImage = z.string({ error: "must be a node image reference" }).superRefine((image, ctx) => {
  const match = pinnedNodeImage.exec(image);
  if (!match) {
    ctx.addIssue({ code: "custom", message: `must be pinned by tag and digest, like ${defaultNodeImage}` });
  } else if (Number(match.groups?.major) === 1 && Number(match.groups?.minor) < minimumKubernetesMinor) {
    ctx.addIssue({
      code: "custom",
      message: `must be Kubernetes v1.${minimumKubernetesMinor} or newer (Flux 2.8 needs it), like ${defaultNodeImage}`,
    });
  }
});

const portMapping = section({
  containerPort: wholeNumber(1, 65535),
  hostPort: wholeNumber(1, 65535),
  listenAddress: z.union([z.ipv4(), z.ipv6()], { error: "must be an IPv4 or IPv6 address" }).default("127.0.0.1"),
  protocol: oneOf(["TCP", "UDP", "SCTP"]).default("TCP"),
});
export type PortMapping = z.output<typeof portMapping>;

export const clusterSchema = (stack: string) =>
  described(
    section({
      kind: described(
        oneOf(["kind", "existing"]).default("kind"),
        '`kind`: the stack creates and deletes a kind cluster; `existing`: it deploys into a cluster it does not own (see "Bring your own cluster")',
      ),
      kubeconfigPath: described(
        nonEmpty("must be the path of a kubeconfig file").optional(),
        "`existing` only: the kubeconfig file (`~/…` or relative to the project); or the secret `kubeconfig`",
      ),
      context: described(
        nonEmpty("must be a context of the kubeconfig").optional(),
        "`existing` only: the context to use; required with `cluster.kubeconfigPath` (kubectl moves a file's current context), else the secret kubeconfig's current one",
      ),
      // prefault, not default: a name derived from the stack name must pass the same check.
      name: described(
        text(kindClusterName, "must be a kind cluster name: lower-case letters, digits, '.' and '-'").prefault(`gitops-${stack}`),
        "kind cluster name (lower-case letters, digits, `.`, `-`); the kubectl context is `kind-<name>`",
      ),
      nodeImage: described(
        nodeImage.default(defaultNodeImage),
        "node image, pinned by tag **and** digest; Kubernetes v1.33 or newer (Flux 2.8)",
      ),
      workers: described(wholeNumber(0, 10).default(0), "worker nodes besides the control plane (0–10)"),
      waitTimeout: described(
        text(goDuration, "must be a duration such as 90s or 5m").default("5m"),
        "how long cluster creation waits for the control plane (`90s`, `5m`, ...)",
      ),
      extraPortMappings: described(
        z
          .array(portMapping, { error: "must be a list of port mappings" })
          .default([])
          .superRefine((mappings, ctx) => {
            const seen = new Set<number>();
            mappings.forEach((mapping, index) => {
              if (seen.has(mapping.hostPort)) {
                ctx.addIssue({
                  code: "custom",
                  path: [index, "hostPort"],
                  input: mapping.hostPort,
                  message: "must be unique: another mapping already uses this host port",
                });
              }
              seen.add(mapping.hostPort);
            });
          }),
        "host ports forwarded to the control-plane node: `containerPort`, `hostPort`, `listenAddress` (default `127.0.0.1`), `protocol` (`TCP`, `UDP`, `SCTP`; default `TCP`); host ports must not repeat",
      ),
    })
      .superRefine((cluster, ctx) => {
        if (cluster.kind === "kind") {
          for (const key of ["kubeconfigPath", "context"] as const) {
            if (cluster[key] !== undefined)
              ctx.addIssue({ code: "custom", path: [key], input: cluster[key], message: "is only used with cluster.kind: existing" });
          }
        }
      })
      .prefault({}),
    "The cluster: kind (kind: the stack creates one; existing: kubeconfigPath or the secret kubeconfig, optional context). " +
      "For kind: name (default gitops-<stack>), nodeImage (kindest/node tag@sha256 digest), workers, waitTimeout, " +
      "extraPortMappings [{containerPort, hostPort, listenAddress, protocol}].",
  );

type ParsedCluster = z.output<ReturnType<typeof clusterSchema>>;

/** A kind cluster the stack creates, and deletes with everything in it. */
export interface KindClusterSettings {
  readonly kind: "kind";
  readonly name: string;
  readonly nodeImage: string;
  readonly workers: number;
  readonly waitTimeout: string;
  readonly extraPortMappings: readonly PortMapping[];
  /** Where kind keeps its kubeconfig, relative to the project root. */
  readonly kubeconfigFile: string;
}

/** A cluster the stack does not own: it only deploys into it. */
export interface ExistingClusterSettings {
  readonly kind: "existing";
  /** The kubeconfig, always a Pulumi secret. */
  readonly kubeconfig: pulumi.Output<string>;
  /** Absolute path of the kubeconfig file, when it came from cluster.kubeconfigPath. */
  readonly kubeconfigPath?: string;
  /** The context to use; the kubeconfig's current one when undefined (secret kubeconfig only). */
  readonly context?: string;
}

export type ClusterSettings = KindClusterSettings | ExistingClusterSettings;

export interface ClusterSources {
  readonly project: string;
  /** The project folder: a relative cluster.kubeconfigPath is relative to it. */
  readonly root: string;
  readonly secrets: SecretValues;
  /** Reads a file the settings name; undefined when it cannot. */
  readonly readFile: (absolutePath: string) => string | undefined;
}

/** The parsed section as a kind cluster, or an existing one with its kubeconfig from exactly one place. */
export function resolveCluster(cluster: ParsedCluster, sources: ClusterSources, problems: string[]): ClusterSettings | undefined {
  const key = (name: string) => `${sources.project}:${name}`;
  const { kubeconfig } = sources.secrets;
  if (cluster.kind === "kind") {
    if (kubeconfig !== undefined) problems.push(`${key("kubeconfig")}: (value hidden) — is only used with cluster.kind: existing`);
    const { name, nodeImage, workers, waitTimeout, extraPortMappings } = cluster;
    return { kind: "kind", name, nodeImage, workers, waitTimeout, extraPortMappings, kubeconfigFile: kubeconfigFile(name) };
  }
  if (cluster.kubeconfigPath !== undefined && kubeconfig !== undefined) {
    problems.push(
      `${key("cluster.kubeconfigPath")}: ${show(cluster.kubeconfigPath)} — must not be set together with the secret ${key("kubeconfig")}: choose one`,
    );
    return undefined;
  }
  if (kubeconfig !== undefined) return { kind: "existing", kubeconfig: pulumi.secret(kubeconfig), context: cluster.context };
  if (cluster.kubeconfigPath === undefined) {
    problems.push(
      `${key("cluster.kubeconfigPath")}: (missing) — must be set (or the secret ${key("kubeconfig")}: pulumi config set --secret kubeconfig < file) when cluster.kind is existing`,
    );
    return undefined;
  }
  // A kubeconfig file is shared with kubectl, which moves its current context: name the context.
  if (cluster.context === undefined) {
    problems.push(
      `${key("cluster.context")}: (missing) — must name the kubeconfig's context to use with cluster.kubeconfigPath: its current context changes with kubectl config use-context`,
    );
    return undefined;
  }
  const file = resolveUserPath(cluster.kubeconfigPath, sources.root);
  const text = sources.readFile(file);
  if (text === undefined || text.trim() === "") {
    problems.push(
      `${key("cluster.kubeconfigPath")}: ${show(cluster.kubeconfigPath)} — must be a readable, non-empty kubeconfig file (${file})`,
    );
    return undefined;
  }
  return { kind: "existing", kubeconfig: pulumi.secret(text), kubeconfigPath: file, context: cluster.context };
}
