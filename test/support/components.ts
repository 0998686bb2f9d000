// One component under Pulumi's mock engine, as pulumi-awsx tests theirs: build it with plain
// arguments and look at what it registers (inputs and resource options) by type token.
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { ClusterConnection } from "../../infra/components/cluster.ts";
import { evaluateUnderMocks, type Evaluation, type Registration } from "../../tools/offline/mockEngine.ts";

export interface Built<T> extends Evaluation<undefined> {
  readonly component: T;
  /** The stand-in cluster's provider and the resource everything is deleted with. */
  readonly cluster: { readonly provider: Registration; readonly anchor: Registration };
  /** What the component itself registered (its children and grandchildren). */
  readonly children: readonly Registration[];
  /** The one registration of `type` (and `name`); throws when there is not exactly one. */
  readonly only: (type: string, name?: string) => Registration;
}

/**
 * Builds a component against a stand-in cluster (a provider and a resource to be deleted with)
 * and returns what it registered. Builds in one process must not overlap.
 */
export async function build<T>(make: (cluster: ClusterConnection) => T, options: { preview?: boolean } = {}): Promise<Built<T>> {
  let component: T | undefined;
  const evaluation = await evaluateUnderMocks(
    () => {
      const provider = new k8s.Provider("test-cluster", { kubeconfig: "test" });
      const anchor = new command.local.Command("test-cluster-anchor", { create: "true" });
      component = make({ provider, deletedWith: anchor });
      return undefined;
    },
    { project: "gitops", stack: "test", ...options },
  );
  if (evaluation.error !== undefined)
    throw evaluation.error instanceof Error ? evaluation.error : new Error(JSON.stringify(evaluation.error));
  const find = (registrations: readonly Registration[], type: string, name?: string) => {
    const found = registrations.filter((r) => r.type === type && (name === undefined || r.name === name));
    if (found.length !== 1) throw new Error(`expected one ${type} ${name ?? ""}, found ${found.length}`);
    return found[0]!;
  };
  const provider = find(evaluation.registrations, "pulumi:providers:kubernetes", "test-cluster");
  const anchor = find(evaluation.registrations, "command:local:Command", "test-cluster-anchor");
  const children = evaluation.registrations.filter((r) => r !== provider && r !== anchor);
  return {
    ...evaluation,
    component: component!,
    cluster: { provider, anchor },
    children,
    only: (type, name) => find(children, type, name),
  };
}

/** A stand-in for the FluxInstance, for components whose objects wait for it. */
export const fluxInstance = (): pulumi.Resource => new command.local.Command("flux-instance", { create: "true" });

/** Resource type tokens, as the registrations carry them. */
export const types = {
  gitRepository: "kubernetes:source.toolkit.fluxcd.io/v1:GitRepository",
  kustomization: "kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization",
  imageUpdates: "kubernetes:image.toolkit.fluxcd.io/v1:ImageUpdateAutomation",
  secret: "kubernetes:core/v1:Secret",
  privateKey: "tls:index/privateKey:PrivateKey",
} as const;

/** The provider reference a child of the stand-in cluster carries. */
export const providerReference = (provider: Registration) => `${provider.urn}::${provider.name}-id`;
