// Every setting of a stack, read once and validated before any resource is registered. Defaults
// live in the section schemas; a stack file (Pulumi.<stack>.yaml) carries only what differs.
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { clusterSchema, resolveCluster, type ClusterSettings, type KindClusterSettings } from "./cluster.ts";
import { fluxSchema, fluxValuesFile, leftoverValuesProblem, type FluxSettings } from "./flux.ts";
import { gitSchema, resolveGit, type GitSettings } from "./git.ts";
import { imagePolicySchema, markerWarning, serverImagePolicy, type ImagePolicySettings } from "./imagePolicy.ts";
import { tagThePolicyTakes } from "./imageTags.ts";
import { namespacesSchema, type NamespaceSettings } from "./namespaces.ts";
import { configInput, similar } from "./input.ts";
import { ConfigurationError, describeIssue, show } from "./problems.ts";
import { projectFile, projectRoot, readFileOrUndefined, type ProjectFile } from "./project.ts";
import { isMapping, secretPlaceholder } from "./values.ts";
import { prometheusSchema, type PrometheusSettings } from "./prometheus.ts";
import { localRegistry } from "./registries.ts";
import { readSecrets, secretSettings } from "./secrets.ts";
import { imageParts, resourceWarnings, serverSchema, type ServerSettings } from "./server.ts";

const buildSettingsSchema = (stack: string) => {
  const shape = {
    cluster: clusterSchema(stack),
    namespaces: namespacesSchema,
    flux: fluxSchema,
    server: serverSchema,
    prometheus: prometheusSchema,
    imagePolicy: imagePolicySchema,
    git: gitSchema(stack),
  };
  const allowed = [...Object.keys(shape), ...Object.keys(secretSettings)].join(", ");
  return z.strictObject(shape, { error: `unknown setting (allowed: ${allowed})` });
};
const schemas = new Map<string, ReturnType<typeof buildSettingsSchema>>();

/**
 * The Pulumi configuration keys of this project (namespace `gitops:`), one per concern. Built
 * once per stack name (its defaults name the cluster): building was most of a parse's time.
 */
export const settingsSchema = (stack: string) => {
  const built = schemas.get(stack) ?? buildSettingsSchema(stack);
  schemas.set(stack, built);
  return built;
};

/** Where in a section's value an encrypted part sits, as `a.b[0].c`; empty when none. */
function encryptedPaths(value: unknown, prefix = ""): string[] {
  if (value === secretPlaceholder) return [prefix];
  if (Array.isArray(value)) return value.flatMap((item, index) => encryptedPaths(item, `${prefix}[${index}]`));
  if (isMapping(value)) return Object.entries(value).flatMap(([key, item]) => encryptedPaths(item, prefix ? `${prefix}.${key}` : key));
  return [];
}

/** Everything the program needs for one stack. */
export interface Settings {
  readonly stack: string;
  readonly cluster: ClusterSettings;
  readonly namespaces: NamespaceSettings;
  readonly flux: FluxSettings;
  readonly server: ServerSettings;
  readonly prometheus: PrometheusSettings;
  readonly imagePolicy: ImagePolicySettings;
  readonly git: GitSettings;
  /** Things that work but probably not as the user means; shown as warnings. */
  readonly warnings: readonly string[];
}

/** A stack's configuration and files, as the engine (or the offline loader) hands them over. */
export interface RawSettings {
  readonly stack: string;
  readonly project: string;
  /** Pulumi configuration as the engine hands it over: `project:key` → string (JSON for structured values). */
  readonly config: Readonly<Record<string, string>>;
  /** The configuration keys that are stored encrypted (set with --secret). */
  readonly secretKeys?: readonly string[];
  /** stacks/<stack>/flux-values.yaml, left from the flux2 chart, when the stack has one. */
  readonly fluxValuesFile?: ProjectFile;
  /** The stack file itself (Pulumi.<stack>.yaml), to check the setter marker image updates need. */
  readonly stackFile?: ProjectFile;
  /** Reads a file the settings name (cluster.kubeconfigPath); undefined when it cannot. */
  readonly readFile?: (absolutePath: string) => string | undefined;
  /**
   * The environment variables the settings read: GITHUB_TOKEN (instead of the githubToken setting).
   * @default none
   */
  readonly environment?: Readonly<Record<string, string | undefined>>;
  /**
   * The project folder, against which relative paths in settings resolve.
   * @default the folder this program is in
   */
  readonly root?: string;
}

/** Validates a stack's configuration and files; throws ConfigurationError listing every problem. */
export function parseSettings(raw: RawSettings): Settings {
  const problems: string[] = [];
  const warnings: string[] = [];
  const root = raw.root ?? projectRoot;
  // Each section on its own, so every problem is listed at once, across sections and checks.
  const schemas = settingsSchema(raw.stack).shape;
  const input = configInput(raw, Object.keys(schemas), problems, warnings);
  const secretSections = new Set(
    (raw.secretKeys ?? []).filter((key) => key.startsWith(`${raw.project}:`)).map((key) => key.slice(raw.project.length + 1)),
  );
  const parsed: Partial<{ [K in keyof typeof schemas]: z.output<(typeof schemas)[K]> }> = {};
  for (const name of Object.keys(schemas) as (keyof typeof schemas)[]) {
    // A part stored encrypted (pulumi config set --secret --path) cannot be read offline: the
    // section is taken as a whole encrypted one is (Pulumi decrypts it for the program).
    const encrypted = encryptedPaths(input[name]);
    if (encrypted.length > 0) {
      warnings.push(
        `${raw.project}:${name}.${encrypted.join(`, ${raw.project}:${name}.`)} ${encrypted.length === 1 ? "is" : "are"} stored encrypted: it cannot be read here, so ${raw.project}:${name} shows its defaults (Pulumi decrypts it for the program)`,
      );
      delete input[name];
    }
    const result = schemas[name].safeParse(input[name], { reportInput: true });
    if (result.success) (parsed as Record<string, unknown>)[name] = result.data;
    else {
      for (const issue of result.error.issues) {
        const lines = describeIssue(raw.project, input, { ...issue, path: [name, ...issue.path] }, { hide: secretSections.has(name) });
        // The default cluster name comes from the stack name: say so, and how to choose another.
        const derived = name === "cluster" && issue.path[0] === "name" && !hasKey(input.cluster, "name");
        problems.push(
          ...(derived
            ? lines.map((line) => `${line.replace(" — ", ` (from the stack name ${JSON.stringify(raw.stack)}) — `)}; set cluster.name`)
            : lines),
        );
      }
    }
  }
  const known = [...Object.keys(schemas), ...Object.keys(secretSettings)];
  for (const key of Object.keys(input).filter((name) => !(name in schemas))) {
    const meant = known.find((name) => similar(key, name));
    problems.push(
      `${raw.project}:${key}: (value not shown) — unknown setting${meant ? ` (did you mean ${raw.project}:${meant}?)` : ""} (allowed: ${known.join(", ")})`,
    );
  }
  problems.push(...leftoverValuesProblem(raw.fluxValuesFile, raw.stack));
  const secrets = readSecrets(raw.project, raw.config, raw.secretKeys ?? [], problems);
  const cluster =
    parsed.cluster &&
    resolveCluster(
      parsed.cluster,
      {
        project: raw.project,
        root,
        secrets,
        given: isMapping(input.cluster) ? Object.keys(input.cluster) : [],
        readFile: raw.readFile ?? readFileOrUndefined,
      },
      problems,
    );
  const localGitServer = cluster?.kind === "kind" ? cluster.gitServer : undefined;
  const git = parsed.git && resolveGit(parsed.git, raw.project, secrets, problems, raw.environment?.GITHUB_TOKEN, localGitServer);
  // The local Git server serves only while git.url is unset: with a repository of its own, the stack starts none.
  const clusterWithServer = cluster?.kind === "kind" && cluster.gitServer && git?.mode !== "local" ? withoutGitServer(cluster) : cluster;
  const clusterWithImage =
    clusterWithServer && parsed.server
      ? withServerImage(raw.project, clusterWithServer, parsed.server.image, parsed.imagePolicy, problems, warnings)
      : clusterWithServer;
  problems.push(...stackNameProblems(raw.stack));
  if (
    problems.length > 0 ||
    !clusterWithImage ||
    !git ||
    !parsed.namespaces ||
    !parsed.flux ||
    !parsed.server ||
    !parsed.prometheus ||
    !parsed.imagePolicy
  ) {
    // Every refusal names its problems; one that could name none would be this program's fault.
    if (problems.length === 0)
      problems.push("the settings could not be read, and no check said why: a bug of this program (please report it)");
    throw new ConfigurationError(raw.stack, problems);
  }

  if (git.mode !== "off" && git.imageUpdates && raw.stackFile) {
    const warning = markerWarning(parsed.namespaces.flux, raw.stack, raw.stackFile);
    if (warning) warnings.push(warning);
  }
  if (git.mode !== "off" && !fs.existsSync(path.resolve(root, git.path))) {
    warnings.push(
      `git.path ${git.path} does not exist in this checkout: Flux will apply nothing until it is in ${git.location.url} (commit a kustomization.yaml there)`,
    );
  }
  if (git.mode === "ssh" && git.key.kind === "generated" && git.key.addedBy?.tokenFrom === "GITHUB_TOKEN") {
    warnings.push(
      `the deploy key is added to ${git.location.repository} on GitHub with GITHUB_TOKEN from the environment: an update run without it removes the key; ` +
        "to keep it, store the token in the stack (pulumi config set --secret githubToken <token>)",
    );
  }
  warnings.push(...resourceWarnings(parsed.server.resources, parsed.server.replicas));
  return {
    stack: raw.stack,
    cluster: clusterWithImage,
    namespaces: parsed.namespaces,
    flux: parsed.flux,
    server: parsed.server,
    prometheus: parsed.prometheus,
    imagePolicy: parsed.imagePolicy,
    git,
    warnings,
  };
}

const hasKey = (value: unknown, key: string) => isMapping(value) && key in value;

/** A kind cluster's settings without its local Git server (ignoreRestSiblings: the dropped field goes unused). */
function withoutGitServer({ gitServer, ...cluster }: KindClusterSettings): KindClusterSettings {
  return cluster;
}

/**
 * The server image and the local registry must agree: an image on the registry needs it on
 * (then the registry knows the image's path and tag in it), and a registry the image is not on
 * serves nothing (a warning).
 */
function withServerImage(
  project: string,
  cluster: ClusterSettings,
  image: string,
  imagePolicy: ImagePolicySettings | undefined,
  problems: string[],
  warnings: string[],
): ClusterSettings {
  if (cluster.kind !== "kind") return cluster;
  const { registry, path: imagePath, tag } = imageParts(image);
  const host = localRegistry(cluster.name, cluster.registry?.hostPort ?? 0).host;
  if (registry !== host) {
    if (cluster.registry !== undefined) {
      warnings.push(
        `cluster.registry is on, but server.image ${image} is not on it: to have the nodes, Flux and npm run release share it, use ${host}/${imagePath}:${imagePolicy ? tagThePolicyTakes(imagePolicy, tag) : tag}`,
      );
    }
    return cluster;
  }
  if (cluster.registry === undefined) {
    problems.push(
      `${project}:server.image: ${show(image)} — is on the local registry ${host}, which is off: set cluster.registry.enabled: true`,
    );
    return cluster;
  }
  return { ...cluster, registry: { ...cluster.registry, serverImage: { path: imagePath, tag } } };
}

/** Object names the program derives from the stack name must be names Kubernetes takes. */
function stackNameProblems(stack: string): string[] {
  const policy = serverImagePolicy(stack);
  // A DNS subdomain (RFC 1123), as the API server checks metadata.name.
  const subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
  return subdomain.test(policy) && policy.length <= 253
    ? []
    : [
        `stack name ${JSON.stringify(stack)} — names the environment's ImagePolicy ${policy} (and its stack file's setter marker), ` +
          "which Kubernetes refuses: use a stack name of lower-case letters, digits, '-' and '.'",
      ];
}

/**
 * Validates a stack's configuration together with its own files (Pulumi.<stack>.yaml, and a
 * stacks/<stack>/flux-values.yaml left from the flux2 chart), read from the project: the program and every offline tool check the same.
 */
export function settingsWithStackFiles(
  raw: Pick<RawSettings, "stack" | "project" | "config" | "secretKeys" | "environment">,
  root = projectRoot,
): Settings {
  return parseSettings({
    ...raw,
    root,
    fluxValuesFile: projectFile(fluxValuesFile(raw.stack), root),
    stackFile: projectFile(`Pulumi.${raw.stack}.yaml`, root),
  });
}

/**
 * Reads the running stack's configuration and files once (Pulumi engine or mock engine alike).
 * `environment`: the variables the settings read (GITHUB_TOKEN); the program passes its own.
 */
export function readSettings(root = projectRoot, environment: RawSettings["environment"] = {}): Settings {
  const config = pulumi.runtime.allConfig();
  return settingsWithStackFiles(
    {
      stack: pulumi.getStack(),
      project: pulumi.getProject(),
      config,
      secretKeys: Object.keys(config).filter(isConfigSecret),
      environment,
    },
    root,
  );
}

// The SDK's runtime has this check but does not declare it in its types.
const isConfigSecret = (key: string): boolean =>
  (pulumi.runtime as unknown as { isConfigSecret(key: string): boolean }).isConfigSecret(key);

export { ConfigurationError } from "./problems.ts";
export { editDistance } from "./input.ts";
export { projectRoot, readYaml, resolveUserPath, type ProjectFile } from "./project.ts";
export { isMapping, mergeValues, secretPlaceholder, type HelmValues } from "./values.ts";
export { secretSettings, type SecretSetting } from "./secrets.ts";
export {
  portsClash,
  publishedPorts,
  kubeconfigFile,
  defaultNodeImage,
  type ClusterSettings,
  type KindClusterSettings,
  type ExistingClusterSettings,
  type PortMapping,
} from "./cluster.ts";
export {
  syncName,
  githubKnownHosts,
  deployKeyPage,
  parseGitUrl,
  type GitSettings,
  type SshGitSettings,
  type HttpsGitSettings,
  type LocalGitSettings,
  type GitLocation,
} from "./git.ts";
export { serverImagePolicy, imagePolicyMarker, type ImagePolicySettings } from "./imagePolicy.ts";
export {
  gitServerImage,
  localGitServer,
  localRegistry,
  registryEnvironmentFlags,
  registryImage,
  registryMirrors,
  type LocalGitServer,
  type LocalRegistry,
} from "./registries.ts";
export { demoImage, imageParts, imageRepository, type ServerSettings, type ComputeResources } from "./server.ts";
export { fluxValuesFile, type FluxSettings } from "./flux.ts";
export type { NamespaceSettings, NamespaceRole } from "./namespaces.ts";
export type { PrometheusSettings } from "./prometheus.ts";
export { considerTag, demoSha, newestTag, nextTag, tagThePolicyTakes, type Verdict } from "./imageTags.ts";
