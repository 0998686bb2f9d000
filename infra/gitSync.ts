// The GitOps loop: Flux applies a path of a Git repository to the cluster, garbage-collects
// what is removed from it, and (optionally) commits new image tags back. The demo's
// `fluxctl identity` becomes a deploy key the stack generates; its public half is an output.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { afterFlux, componentType, inCluster, type ClusterConnection } from "./cluster";
import { githubKnownHosts, type GitLocation, type GitSettings, type SecretSetting } from "./config";
import { GitRepository, ImageUpdateAutomation, Kustomization } from "./customResources";

/** Flux bootstrap's names for the sync objects and their Secret; `flux reconcile` users know them. */
export const syncName = "flux-system";

export interface GitSyncArgs {
  readonly settings: GitSettings;
  readonly location: GitLocation;
  readonly secrets: Partial<Record<SecretSetting, pulumi.Output<string>>>;
  /** Namespace of the Flux objects (and of the ImagePolicy that image updates follow). */
  readonly namespace: pulumi.Input<string>;
  /** The environment's name, in image update commit messages. */
  readonly environment: string;
  /** The flux2 Helm release: Flux's CRDs exist once it is installed. */
  readonly flux: k8s.helm.v3.Release;
  readonly cluster: ClusterConnection;
}

/** Commit message of an image update: names the environment and each image change. */
export const commitMessageTemplate = (environment: string) =>
  `[${environment}] Update images\n\n{{ range .Changed.Changes -}}\n- {{ .OldValue }} -> {{ .NewValue }}\n{{ end -}}\n`;

export class GitSync extends pulumi.ComponentResource {
  /** The public half of the generated deploy key (undefined for https:// or a supplied key). */
  readonly deployPublicKey?: pulumi.Output<string>;

  constructor(name: string, args: GitSyncArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentType("GitSync"), name, {}, opts);
    const { settings, location } = args;

    // Generated only when an ssh:// repository has no supplied key. Stored in state (encrypted)
    // and stable across updates, so the deploy key added to the repository stays valid.
    const generatedKey =
      location.scheme === "ssh" && !args.secrets.gitSshPrivateKey
        ? new tls.PrivateKey(`${name}-deploy-key`, { algorithm: "ED25519" }, { parent: this })
        : undefined;
    this.deployPublicKey = generatedKey?.publicKeyOpenssh;
    const credentials = credentialsFor(args, generatedKey);
    const secret =
      credentials &&
      new k8s.core.v1.Secret(
        `${name}-credentials`,
        {
          metadata: { name: syncName, namespace: args.namespace },
          type: "Opaque",
          // The source-controller's format: identity/identity.pub/known_hosts (SSH) or username/password (HTTPS).
          stringData: pulumi.secret(credentials),
        },
        inCluster(this, args.cluster),
      );

    const repository = new GitRepository(
      `${name}-repository`,
      {
        metadata: { name: syncName, namespace: args.namespace },
        spec: {
          url: location.url,
          ref: { branch: settings.branch },
          interval: settings.interval,
          timeout: settings.timeout,
          ...(secret ? { secretRef: { name: secret.metadata.name } } : {}),
        },
      },
      afterFlux(this, args.cluster, args.flux),
    );

    new Kustomization(
      `${name}-kustomization`,
      {
        metadata: { name: syncName, namespace: args.namespace },
        spec: {
          interval: settings.interval,
          path: settings.path,
          prune: settings.prune,
          sourceRef: { kind: "GitRepository", name: repository.metadata.name },
          // Health-check what was applied, within this time.
          wait: true,
          timeout: settings.healthTimeout,
        },
      },
      afterFlux(this, args.cluster, args.flux),
    );

    if (settings.imageUpdates.enabled) {
      new ImageUpdateAutomation(
        `${name}-image-updates`,
        {
          metadata: { name: syncName, namespace: args.namespace },
          spec: {
            interval: settings.imageUpdates.interval,
            sourceRef: { kind: "GitRepository", name: repository.metadata.name },
            git: {
              checkout: { ref: { branch: settings.branch } },
              commit: { author: settings.imageUpdates.author, messageTemplate: commitMessageTemplate(args.environment) },
              push: { branch: settings.branch },
            },
            // Setter markers anywhere in the repository: the stack files sit at its root.
            update: { path: "./", strategy: "Setters" },
          },
        },
        afterFlux(this, args.cluster, args.flux),
      );
    }

    this.registerOutputs({ deployPublicKey: this.deployPublicKey });
  }

}

/** The Secret's data for the repository's scheme; undefined for a public https:// repository. */
export function credentialsFor(
  args: Pick<GitSyncArgs, "settings" | "location" | "secrets">,
  generatedKey?: Pick<tls.PrivateKey, "privateKeyOpenssh" | "publicKeyOpenssh">,
): pulumi.Output<Record<string, string>> | undefined {
  const { settings, location, secrets } = args;
  if (location.scheme === "https") {
    return secrets.gitToken?.apply((token): Record<string, string> => ({ username: settings.username, password: token }));
  }
  const knownHosts = settings.knownHosts ?? githubKnownHosts;
  if (generatedKey) {
    return pulumi
      .all([generatedKey.privateKeyOpenssh, generatedKey.publicKeyOpenssh])
      .apply(([identity, publicKey]): Record<string, string> => ({ identity, "identity.pub": publicKey, known_hosts: knownHosts }));
  }
  return secrets.gitSshPrivateKey?.apply((identity): Record<string, string> => ({ identity, known_hosts: knownHosts }));
}

/** What the stack outputs say about the deploy key. */
export function deployKeyAccess(settings: GitSettings): string {
  return settings.readOnly
    ? 'read-only: leave "Allow write access" unticked'
    : 'read-write: tick "Allow write access" (Flux pushes image updates)';
}
