// The GitOps loop: Flux applies a path of a Git repository to the cluster, garbage-collects
// what is removed from it, and (optionally) commits new image tags back. The demo's
// `fluxctl identity` becomes a deploy key the stack generates; its public half is an output.
import { createRequire } from "node:module";
import type * as github from "@pulumi/github";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { syncName } from "../settings/index.ts";
import { afterFlux, componentType, inCluster, type ClusterConnection } from "./cluster.ts";
import { GitRepository, ImageUpdateAutomation, Kustomization } from "./customResources.ts";

/** How Flux authenticates to the repository. */
export type GitCredentials =
  /** A public https:// repository. */
  | { readonly kind: "none" }
  /** https:// with a token as the password of `username`. */
  | { readonly kind: "token"; readonly username: string; readonly token: pulumi.Output<string> }
  /** ssh:// with a deploy key the stack generates; its public half is an output; `addTo`: the stack adds it to GitHub itself. */
  | { readonly kind: "generatedKey"; readonly knownHosts: string; readonly readOnly: boolean; readonly addTo?: GithubRepository }
  /** ssh:// with the user's own private key. */
  | { readonly kind: "suppliedKey"; readonly privateKey: pulumi.Output<string>; readonly knownHosts: string; readonly readOnly: boolean };

/** A github.com repository, and a token that may add deploy keys to it. */
export interface GithubRepository {
  readonly owner: string;
  readonly name: string;
  /** A Pulumi secret: never shown, encrypted in state. */
  readonly token: pulumi.Output<string>;
}

export interface GitSyncArgs {
  /** The repository Flux clones: ssh:// or https://, matching the credentials. */
  readonly url: string;
  /** The branch Flux checks out, and pushes image updates to. */
  readonly branch: string;
  /** The folder of the repository Flux applies. */
  readonly path: string;
  /** How often Flux fetches and re-applies (a Flux duration). */
  readonly interval: string;
  /** Whether what is deleted from Git is deleted from the cluster. */
  readonly prune: boolean;
  /** Timeout of Git operations (a Flux duration without hours). */
  readonly timeout: string;
  /** How long Flux waits for what it applied to become healthy. */
  readonly healthTimeout: string;
  readonly credentials: GitCredentials;
  /**
   * Commit new image tags back to `branch`.
   * @default off
   */
  readonly imageUpdates?: { readonly interval: string; readonly author: { readonly name: string; readonly email: string } };
  /** The page where a deploy key is added to the repository, when there is one (GitHub). */
  readonly deployKeyPage?: string;
  /** Namespace of the Flux objects (and of the ImagePolicy that image updates follow). */
  readonly namespace: pulumi.Input<string>;
  /** The environment's name, in image update commit messages. */
  readonly environment: string;
  /** The FluxInstance: Flux's CRDs and controllers are in place once it is Ready. */
  readonly flux: pulumi.Resource;
  /** What must exist before Flux's first fetch (the local Git server, filled). */
  readonly source?: pulumi.Resource;
  /** The cluster Flux runs in. */
  readonly cluster: ClusterConnection;
}

/** Commit message of an image update: names the environment and each image change. */
export const commitMessageTemplate = (environment: string) =>
  `[${environment}] Update images\n\n{{ range .Changed.Changes -}}\n- {{ .OldValue }} -> {{ .NewValue }}\n{{ end -}}\n`;

export class GitSync extends pulumi.ComponentResource {
  /** One line for the stack outputs: what is synced, from where, how often. */
  readonly description: string;
  /** The public half of the generated deploy key (only for a generated key). */
  readonly deployKey?: pulumi.Output<string>;
  /** Where to add the deploy key (only for a generated key on a host that has such a page). */
  readonly deployKeyPage?: string;
  /** Which access the deploy key needs (only over ssh://). */
  readonly deployKeyAccess?: string;
  /** Where the stack added the deploy key itself, and as what (only when given a GitHub token). */
  readonly deployKeyAdded?: string;

  constructor(name: string, args: GitSyncArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentType("GitSync"), name, {}, opts);
    const { credentials } = args;

    // Stored in state (encrypted) and kept across updates, so the deploy key added to the repository stays valid.
    const generatedKey =
      credentials.kind === "generatedKey"
        ? new tls.PrivateKey(`${name}-deploy-key`, { algorithm: "ED25519" }, { parent: this })
        : undefined;
    let addedKey: github.RepositoryDeployKey | undefined;
    if (generatedKey) {
      this.deployKey = generatedKey.publicKeyOpenssh;
      if (credentials.kind === "generatedKey" && credentials.addTo) {
        addedKey = addDeployKey(this, name, credentials.addTo, generatedKey, credentials.readOnly, args.environment);
        this.deployKeyAdded = `added to github.com/${credentials.addTo.owner}/${credentials.addTo.name} as "${deployKeyTitle(args.environment)}", ${credentials.readOnly ? "read-only" : "read-write"}; removed on destroy`;
      } else {
        this.deployKeyPage = args.deployKeyPage;
      }
    }
    if ((credentials.kind === "generatedKey" && !credentials.addTo) || credentials.kind === "suppliedKey")
      this.deployKeyAccess = deployKeyAccess(credentials.readOnly);
    this.description =
      `on: ${args.url} branch ${args.branch}, path ${args.path}, every ${args.interval}` +
      (args.imageUpdates ? ", image updates pushed back" : "");

    const data = secretData(credentials, generatedKey);
    const secret =
      data &&
      new k8s.core.v1.Secret(
        `${name}-credentials`,
        {
          metadata: { name: syncName, namespace: args.namespace },
          type: "Opaque",
          // The source-controller's format: identity/identity.pub/known_hosts (SSH) or username/password (HTTPS).
          stringData: pulumi.secret(data),
        },
        inCluster(this, args.cluster),
      );

    const repository = new GitRepository(
      `${name}-repository`,
      {
        metadata: { name: syncName, namespace: args.namespace },
        spec: {
          url: args.url,
          ref: { branch: args.branch },
          interval: args.interval,
          timeout: args.timeout,
          ...(secret ? { secretRef: { name: secret.metadata.name } } : {}),
        },
      },
      // With the key added first, Flux's first fetch succeeds instead of waiting an interval to retry.
      afterFlux(this, args.cluster, args.flux, { dependsOn: [addedKey, args.source] }),
    );

    new Kustomization(
      `${name}-kustomization`,
      {
        metadata: { name: syncName, namespace: args.namespace },
        spec: {
          interval: args.interval,
          path: args.path,
          prune: args.prune,
          sourceRef: { kind: "GitRepository", name: repository.metadata.name },
          // Health-check what was applied, within this time.
          wait: true,
          timeout: args.healthTimeout,
        },
      },
      afterFlux(this, args.cluster, args.flux),
    );

    if (args.imageUpdates) {
      new ImageUpdateAutomation(
        `${name}-image-updates`,
        {
          metadata: { name: syncName, namespace: args.namespace },
          spec: {
            interval: args.imageUpdates.interval,
            sourceRef: { kind: "GitRepository", name: repository.metadata.name },
            git: {
              checkout: { ref: { branch: args.branch } },
              commit: { author: args.imageUpdates.author, messageTemplate: commitMessageTemplate(args.environment) },
              push: { branch: args.branch },
            },
            // Setter markers anywhere in the repository: the stack files sit at its root.
            update: { path: "./", strategy: "Setters" },
          },
        },
        afterFlux(this, args.cluster, args.flux),
      );
    }

    this.registerOutputs({
      description: this.description,
      deployKey: this.deployKey,
      deployKeyPage: this.deployKeyPage,
      deployKeyAccess: this.deployKeyAccess,
      deployKeyAdded: this.deployKeyAdded,
    });
  }
}

/** The deploy key's title on GitHub: names the environment it belongs to. */
export const deployKeyTitle = (environment: string) => `Flux: ${environment}`;

/**
 * The GitHub provider's SDK, loaded only by a stack that adds a deploy key: it is large (a
 * tenth of `npm run render`'s time), and the shipped stacks never need it.
 */
const githubSdk = () => createRequire(import.meta.url)("@pulumi/github") as typeof github;

/**
 * Adds the generated key to the repository as a deploy key, through a GitHub provider of its own
 * (never the ambient default); destroy removes it. Not deleted with the cluster: it lives on GitHub.
 */
function addDeployKey(
  parent: pulumi.Resource,
  name: string,
  repository: GithubRepository,
  key: tls.PrivateKey,
  readOnly: boolean,
  environment: string,
): github.RepositoryDeployKey {
  const { Provider, RepositoryDeployKey } = githubSdk();
  const provider = new Provider(`${name}-github`, { owner: repository.owner, token: repository.token }, { parent });
  return new RepositoryDeployKey(
    `${name}-deploy-key`,
    { repository: repository.name, title: deployKeyTitle(environment), key: key.publicKeyOpenssh, readOnly },
    // GitHub refuses a key that is already on the repository: a replacement (say, readOnly
    // changed) must delete the old one first.
    { parent, provider, deleteBeforeReplace: true },
  );
}

/** The Secret's data for the credentials; undefined for a public https:// repository. */
export function secretData(
  credentials: GitCredentials,
  generatedKey?: Pick<tls.PrivateKey, "privateKeyOpenssh" | "publicKeyOpenssh">,
): pulumi.Output<Record<string, string>> | undefined {
  switch (credentials.kind) {
    case "none":
      return undefined;
    case "token":
      return credentials.token.apply((token): Record<string, string> => ({ username: credentials.username, password: token }));
    case "suppliedKey":
      return credentials.privateKey.apply((identity): Record<string, string> => ({ identity, known_hosts: credentials.knownHosts }));
    case "generatedKey":
      if (!generatedKey) throw new Error("a generated deploy key needs the key");
      return pulumi
        .all([generatedKey.privateKeyOpenssh, generatedKey.publicKeyOpenssh])
        .apply(([identity, publicKey]): Record<string, string> => ({
          identity,
          "identity.pub": publicKey,
          known_hosts: credentials.knownHosts,
        }));
  }
}

/** What the stack outputs say about the deploy key's access. */
export function deployKeyAccess(readOnly: boolean): string {
  return readOnly ? 'read-only: leave "Allow write access" unticked' : 'read-write: tick "Allow write access" (Flux pushes image updates)';
}
