// Flux's image scanning for the server image: an ImageRepository and the environment's ImagePolicy
// (the demo's `fluxcd.io/tag.server` annotations, in Flux v2 form).
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { afterFlux, componentType, type ClusterConnection } from "./cluster";
import { imageRepository, serverImagePolicy, type ImagePolicySettings } from "./config";
import { ImagePolicy, ImageRepository } from "./customResources";

export interface ImagePoliciesArgs {
  /** Namespace of the Flux objects. */
  readonly namespace: pulumi.Input<string>;
  /** The image the server runs; its repository is scanned for new tags. */
  readonly image: string;
  readonly settings: ImagePolicySettings;
  /** The environment's name: its policy's name, which its stack file's setter marker names. */
  readonly environment: string;
  /** The flux2 Helm release: the image CRDs exist once it is installed. */
  readonly flux: k8s.helm.v3.Release;
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
        spec: { image: imageRepository(args.image), interval: args.settings.scanInterval },
      },
      afterFlux(this, args.cluster, args.flux),
    );

    this.policy = new ImagePolicy(
      `${name}-policy`,
      {
        metadata: { name: serverImagePolicy(args.environment), namespace: args.namespace },
        spec: {
          imageRepositoryRef: { name: repository.metadata.name },
          filterTags: args.settings.filterTags,
          policy: args.settings.policy,
        },
      },
      afterFlux(this, args.cluster, args.flux),
    );

    this.registerOutputs({});
  }
}
