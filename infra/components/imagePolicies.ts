// Flux's image scanning for the server image: an ImageRepository and the environment's ImagePolicy
// (the demo's `fluxcd.io/tag.server` annotations, in Flux v2 form).
import * as pulumi from "@pulumi/pulumi";
import { afterFlux, componentType, type ClusterConnection } from "./cluster.ts";
import { ImagePolicy, ImageRepository, type ImagePolicySpec } from "./customResources.ts";

export interface ImagePoliciesArgs {
  /** Namespace of the Flux objects. */
  readonly namespace: pulumi.Input<string>;
  /** The image repository the server's image comes from, scanned for new tags. */
  readonly repository: string;
  /**
   * The repository is on a plain-HTTP registry (the local registry beside a kind cluster).
   * @default false
   */
  readonly insecure?: boolean;
  /**
   * Something that must exist before Flux scans (the local registry, so the first scan finds it).
   * @default none
   */
  readonly registry?: pulumi.Resource;
  /** How often Flux scans the repository's tags (a Flux duration). */
  readonly scanInterval: string;
  /** The ImagePolicy's name, which the stack file's setter marker names. */
  readonly policyName: string;
  /** Which tags count, and what to order them by (Flux's filterTags). */
  readonly filterTags: ImagePolicySpec["filterTags"];
  /** How the newest tag is picked: exactly one of semver, numerical, alphabetical. */
  readonly policy: ImagePolicySpec["policy"];
  /** The FluxInstance: Flux's CRDs and controllers are in place once it is Ready. */
  readonly flux: pulumi.Resource;
  /** The cluster Flux runs in. */
  readonly cluster: ClusterConnection;
}

export class ImagePolicies extends pulumi.ComponentResource {
  readonly policy: ImagePolicy;

  constructor(name: string, args: ImagePoliciesArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentType("ImagePolicies"), name, {}, opts);

    const repository = new ImageRepository(
      `${name}-repository`,
      {
        metadata: { name: "server", namespace: args.namespace },
        spec: { image: args.repository, interval: args.scanInterval, ...(args.insecure && { insecure: true }) },
      },
      afterFlux(this, args.cluster, args.flux, { dependsOn: [args.registry] }),
    );

    this.policy = new ImagePolicy(
      `${name}-policy`,
      {
        metadata: { name: args.policyName, namespace: args.namespace },
        spec: {
          imageRepositoryRef: { name: repository.metadata.name },
          filterTags: args.filterTags,
          policy: args.policy,
        },
      },
      afterFlux(this, args.cluster, args.flux),
    );

    this.registerOutputs({});
  }
}
