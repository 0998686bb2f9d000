// What a stack applies, as documents: the Kubernetes objects it creates itself, the Helm
// releases it installs, and the kind cluster config. Built from the mock engine's record.
import * as YAML from "yaml";
import { isMapping } from "../../infra/settings/index.ts";
import type { Registration } from "./mockEngine.ts";

const helmReleaseType = "kubernetes:helm.sh/v3:Release";
const kindCommandType = "command:local:Command";

export interface HelmReleaseDocument {
  readonly name: unknown;
  readonly namespace: unknown;
  readonly chart: unknown;
  readonly version: unknown;
  /** The Helm repository; none for a chart named by an oci:// address. */
  readonly repository?: unknown;
  readonly values: unknown;
}

export interface Rendered {
  /** Kubernetes objects the stack applies itself, in a stable order (namespaces first). */
  readonly manifests: readonly Record<string, unknown>[];
  readonly helmReleases: readonly HelmReleaseDocument[];
  /** The kind cluster config, when the stack creates a kind cluster. */
  readonly kindCluster?: Record<string, unknown>;
}

/** True for a registration that is a Kubernetes object applied by the stack's provider. */
export function isKubernetesObject(registration: Registration): boolean {
  return registration.custom && registration.type.startsWith("kubernetes:") && registration.type !== helmReleaseType;
}

export function renderRegistrations(registrations: readonly Registration[]): Rendered {
  const manifests = registrations.filter(isKubernetesObject).map((registration) => manifest(registration.inputs));
  manifests.sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
  const helmReleases = registrations
    .filter((registration) => registration.type === helmReleaseType)
    .map(({ inputs }) => ({
      name: inputs.name,
      namespace: inputs.namespace,
      chart: inputs.chart,
      version: inputs.version,
      ...(isMapping(inputs.repositoryOpts) && { repository: inputs.repositoryOpts.repo }),
      values: inputs.values ?? {},
    }));
  const kindCluster = registrations
    .filter((registration) => registration.type === kindCommandType && typeof registration.inputs.stdin === "string")
    .map((registration) => YAML.parse(registration.inputs.stdin as string) as unknown)
    .find((document): document is Record<string, unknown> => isMapping(document) && document.kind === "Cluster");
  return { manifests, helmReleases, kindCluster };
}

/** Multi-document YAML, the form `kubectl apply -f` and diff tools take. */
export function toYaml(documents: readonly unknown[]): string {
  return documents.map((document) => YAML.stringify(document, { lineWidth: 0 })).join("---\n");
}

function manifest(inputs: Record<string, unknown>): Record<string, unknown> {
  const { apiVersion, kind, metadata, ...rest } = inputs;
  return { apiVersion, kind, metadata, ...rest };
}

function sortKey(object: Record<string, unknown>): string {
  const metadata = isMapping(object.metadata) ? object.metadata : {};
  const rank = object.kind === "Namespace" ? "0" : "1";
  const text = (value: unknown) => (typeof value === "string" ? value : "");
  return [rank, text(metadata.namespace), text(object.kind), text(metadata.name)].join("\u0000");
}
