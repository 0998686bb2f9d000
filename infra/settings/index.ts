// Every setting of a stack, read once and validated before any resource is registered. Defaults
// live in the section schemas; a stack file (Pulumi.<stack>.yaml) carries only what differs.
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { clusterSchema, resolveCluster, type ClusterSettings } from "./cluster";
import { fluxSchema, fluxValues, fluxValuesFile, type FluxSettings } from "./flux";
import { gitSchema, resolveGit, type GitSettings } from "./git";
import { imagePolicySchema, markerWarning, type ImagePolicySettings } from "./imagePolicy";
import { namespacesSchema, type NamespaceSettings } from "./namespaces";
import { ConfigurationError, describeIssue, show } from "./problems";
import { projectFile, projectRoot, readFileOrUndefined, type ProjectFile } from "./project";
import { prometheusSchema, type PrometheusSettings } from "./prometheus";
import { readSecrets, secretSettings } from "./secrets";
import { serverSchema, type ServerSettings } from "./server";

/** The Pulumi configuration keys of this project (namespace `gitops:`), one per concern. */
export const settingsSchema = (stack: string) => {
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
  /** stacks/<stack>/flux-values.yaml, when the stack has one. */
  readonly fluxValuesFile?: ProjectFile;
  /** The stack file itself (Pulumi.<stack>.yaml), to check the setter marker image updates need. */
  readonly stackFile?: ProjectFile;
  /** Reads a file the settings name (cluster.kubeconfigPath); undefined when it cannot. */
  readonly readFile?: (absolutePath: string) => string | undefined;
  /**
   * The project folder, against which relative paths in settings resolve.
   * @default the folder this program is in
   */
  readonly root?: string;
}

/** Validates a stack's configuration and files; throws ConfigurationError listing every problem. */
export function parseSettings(raw: RawSettings): Settings {
  const problems: string[] = [];
  const input = configInput(raw, problems);
  const parsed = settingsSchema(raw.stack).safeParse(input, { reportInput: true });
  if (!parsed.success) problems.push(...parsed.error.issues.flatMap((issue) => describeIssue(raw.project, input, issue)));
  const flux = fluxValues(raw.fluxValuesFile, problems);
  const secrets = readSecrets(raw.project, raw.config, raw.secretKeys ?? [], problems);
  if (!parsed.success) throw new ConfigurationError(raw.stack, problems);

  const settings = parsed.data;
  const cluster = resolveCluster(
    settings.cluster,
    { project: raw.project, root: raw.root ?? projectRoot, secrets, readFile: raw.readFile ?? readFileOrUndefined },
    problems,
  );
  const git = resolveGit(settings.git, raw.project, secrets, problems);
  if (problems.length > 0 || cluster === undefined) throw new ConfigurationError(raw.stack, problems);
  const warning =
    git.mode !== "off" && git.imageUpdates && raw.stackFile ? markerWarning(settings.namespaces.flux, raw.stack, raw.stackFile) : undefined;
  return {
    stack: raw.stack,
    cluster,
    namespaces: settings.namespaces,
    flux: { ...settings.flux, values: flux },
    server: settings.server,
    prometheus: settings.prometheus,
    imagePolicy: settings.imagePolicy,
    git,
    warnings: warning === undefined ? [] : [warning],
  };
}

/**
 * Validates a stack's configuration together with its own files (stacks/<stack>/flux-values.yaml,
 * Pulumi.<stack>.yaml), read from the project: the program and every offline tool check the same.
 */
export function settingsWithStackFiles(
  raw: Pick<RawSettings, "stack" | "project" | "config" | "secretKeys">,
  root = projectRoot,
): Settings {
  return parseSettings({
    ...raw,
    root,
    fluxValuesFile: projectFile(fluxValuesFile(raw.stack), root),
    stackFile: projectFile(`Pulumi.${raw.stack}.yaml`, root),
  });
}

/** Reads the running stack's configuration and files once (Pulumi engine or mock engine alike). */
export function readSettings(root = projectRoot): Settings {
  const config = pulumi.runtime.allConfig();
  return settingsWithStackFiles(
    {
      stack: pulumi.getStack(),
      project: pulumi.getProject(),
      config,
      secretKeys: Object.keys(config).filter(isConfigSecret),
    },
    root,
  );
}

// The SDK's runtime has this check but does not declare it in its types.
const isConfigSecret = (key: string): boolean =>
  (pulumi.runtime as unknown as { isConfigSecret(key: string): boolean }).isConfigSecret(key);

/** The project's keys, decoded the way `pulumi.Config.getObject` decodes them. */
function configInput(raw: RawSettings, problems: string[]): Record<string, unknown> {
  const prefix = `${raw.project}:`;
  const input: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw.config)) {
    if (!key.startsWith(prefix) || key.slice(prefix.length) in secretSettings) continue;
    try {
      input[key.slice(prefix.length)] = JSON.parse(value);
    } catch {
      problems.push(`${key}: ${show(value)} — must be a mapping (set it in Pulumi.${raw.stack}.yaml or with --path)`);
    }
  }
  return input;
}

export { ConfigurationError } from "./problems";
export { projectRoot, resolveUserPath, type ProjectFile } from "./project";
export { isMapping, mergeValues, type HelmValues } from "./values";
export { secretSettings, type SecretSetting } from "./secrets";
export {
  kubeconfigFile,
  defaultNodeImage,
  type ClusterSettings,
  type KindClusterSettings,
  type ExistingClusterSettings,
  type PortMapping,
} from "./cluster";
export {
  syncName,
  githubKnownHosts,
  deployKeyPage,
  parseGitUrl,
  type GitSettings,
  type SshGitSettings,
  type HttpsGitSettings,
  type GitLocation,
} from "./git";
export { serverImagePolicy, imagePolicyMarker, type ImagePolicySettings } from "./imagePolicy";
export { imageRepository, type ServerSettings, type ComputeResources } from "./server";
export { fluxDefaultValues, fluxValuesFile, type FluxSettings } from "./flux";
export type { NamespaceSettings, NamespaceRole } from "./namespaces";
export type { PrometheusSettings } from "./prometheus";
