// Typed Flux and Prometheus-operator custom resources: each class's `spec` type is generated
// from the CRD schema (kubernetes-models), so a misspelt field fails to compile. Only the API
// versions Flux 2.9 and prometheus-operator serve as current are used. These imports are types
// only and cost nothing at run time. FluxInstance has no such package: its type is written here
// from the operator's CRD, and the tests check every instance against that CRD.
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { IHelmRelease as HelmReleaseModel } from "@kubernetes-models/flux-cd/helm.toolkit.fluxcd.io/v2";
import type {
  IImagePolicy as ImagePolicyModel,
  IImageRepository as ImageRepositoryModel,
  IImageUpdateAutomation as ImageUpdateAutomationModel,
} from "@kubernetes-models/flux-cd/image.toolkit.fluxcd.io/v1";
import type { IKustomization as KustomizationModel } from "@kubernetes-models/flux-cd/kustomize.toolkit.fluxcd.io/v1";
import type {
  IGitRepository as GitRepositoryModel,
  IHelmRepository as HelmRepositoryModel,
} from "@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1";
import type {
  IPodMonitor as PodMonitorModel,
  IPrometheusRule as PrometheusRuleModel,
  IServiceMonitor as ServiceMonitorModel,
} from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";

interface Model {
  apiVersion: string;
  kind: string;
  spec?: unknown;
}

/** The Flux controllers a FluxInstance can install (the CRD's enum of spec.components). */
export type FluxComponent =
  | "source-controller"
  | "kustomize-controller"
  | "helm-controller"
  | "notification-controller"
  | "image-reflector-controller"
  | "image-automation-controller"
  | "source-watcher";

/** A kustomize patch the operator applies to the Flux manifests it builds. */
export interface FluxInstancePatch {
  /** A JSON6902 patch (a YAML list of operations) or a strategic-merge patch. */
  patch: string;
  target?: { group?: string; version?: string; kind?: string; name?: string; labelSelector?: string; annotationSelector?: string };
}

/** The part of Flux Operator 0.58's FluxInstance (fluxcd.controlplane.io/v1) the program sets. */
interface FluxInstanceModel {
  apiVersion: "fluxcd.controlplane.io/v1";
  kind: "FluxInstance";
  spec?: {
    distribution: { version: string; registry: string; artifact?: string };
    components?: FluxComponent[];
    cluster?: {
      type?: "kubernetes" | "openshift" | "aws" | "azure" | "gcp";
      size?: "small" | "medium" | "large";
      multitenant?: boolean;
      networkPolicy?: boolean;
      domain?: string;
    };
    kustomize?: { patches?: FluxInstancePatch[] };
    wait?: boolean;
    migrateResources?: boolean;
  };
}

/** T with a Pulumi input allowed at every level, like the Kubernetes SDK's own input types. */
export type DeepInput<T> = T extends (infer Item)[]
  ? pulumi.Input<DeepInput<Item>[]>
  : T extends object
    ? pulumi.Input<{ [K in keyof T]: DeepInput<T[K]> }>
    : pulumi.Input<T>;

export interface TypedResourceArgs<M extends Model> {
  /** Name and namespace are required: an object without a namespace would land wherever the provider defaults. */
  readonly metadata: k8s.types.input.meta.v1.ObjectMeta & {
    readonly name: pulumi.Input<string>;
    readonly namespace: pulumi.Input<string>;
  };
  readonly spec: DeepInput<NonNullable<M["spec"]>>;
}

/** A CustomResource class for one kind, its apiVersion and kind taken from the model type. */
function typedResource<M extends Model>(apiVersion: M["apiVersion"], kind: M["kind"]) {
  return class extends k8s.apiextensions.CustomResource {
    static readonly apiVersion = apiVersion;
    static readonly kind = kind;
    constructor(name: string, args: TypedResourceArgs<M>, opts?: pulumi.CustomResourceOptions) {
      super(name, { apiVersion, kind, metadata: args.metadata, spec: args.spec }, opts);
    }
  };
}

/** The spec of an ImagePolicy, as the CRD schema has it. */
export type ImagePolicySpec = NonNullable<ImagePolicyModel["spec"]>;

export class GitRepository extends typedResource<GitRepositoryModel>("source.toolkit.fluxcd.io/v1", "GitRepository") {}
export class Kustomization extends typedResource<KustomizationModel>("kustomize.toolkit.fluxcd.io/v1", "Kustomization") {}
export class ImageUpdateAutomation extends typedResource<ImageUpdateAutomationModel>(
  "image.toolkit.fluxcd.io/v1",
  "ImageUpdateAutomation",
) {}
export class HelmRepository extends typedResource<HelmRepositoryModel>("source.toolkit.fluxcd.io/v1", "HelmRepository") {}
export class HelmRelease extends typedResource<HelmReleaseModel>("helm.toolkit.fluxcd.io/v2", "HelmRelease") {}
export class ImageRepository extends typedResource<ImageRepositoryModel>("image.toolkit.fluxcd.io/v1", "ImageRepository") {}
export class ImagePolicy extends typedResource<ImagePolicyModel>("image.toolkit.fluxcd.io/v1", "ImagePolicy") {}
export class ServiceMonitor extends typedResource<ServiceMonitorModel>("monitoring.coreos.com/v1", "ServiceMonitor") {}
export class PrometheusRule extends typedResource<PrometheusRuleModel>("monitoring.coreos.com/v1", "PrometheusRule") {}
export class FluxInstance extends typedResource<FluxInstanceModel>("fluxcd.controlplane.io/v1", "FluxInstance") {}
export class PodMonitor extends typedResource<PodMonitorModel>("monitoring.coreos.com/v1", "PodMonitor") {}
