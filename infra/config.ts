// Every setting of a stack, read once and validated before any resource is registered.
// Defaults live here; a stack file (Pulumi.<stack>.yaml) carries only what differs.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as runtimeConfig from "@pulumi/pulumi/runtime/config";
import { RE2JS } from "re2js";
import * as semver from "semver";
import * as YAML from "yaml";
import { z } from "zod";

/** Root of the project: stack files and stacks/<env>/ are resolved against it. */
export const projectRoot = path.resolve(__dirname, "..");

/** kind v0.32.0's default node image (its release notes), Kubernetes v1.36.1. */
export const defaultNodeImage =
  "kindest/node:v1.36.1@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5";

/** Flux 2.8 supports Kubernetes 1.33 and newer. */
const minimumKubernetesMinor = 33;

// kind rejects other cluster names (pkg/cluster/internal/create: validateName).
const kindClusterName = /^[a-z0-9.-]+$/;
const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
// Go's time.ParseDuration, which kind's --wait uses.
const goDuration = /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/;
const exactVersion = /^[0-9]+\.[0-9]+\.[0-9]+$/;
const pinnedNodeImage = /^[a-z0-9][a-z0-9._/:-]*:v(?<major>[0-9]+)\.(?<minor>[0-9]+)\.[0-9]+@sha256:[a-f0-9]{64}$/;

// Each field carries one sentence saying what is allowed; it becomes the error text.
const text = (pattern: RegExp, allowed: string) =>
  z.string({ error: allowed }).regex(pattern, { error: allowed });
const wholeNumber = (min: number, max: number) => {
  const allowed = `must be a whole number from ${min} to ${max}`;
  return z.int({ error: allowed }).min(min, { error: allowed }).max(max, { error: allowed });
};
const nonEmpty = (allowed: string) => z.string({ error: allowed }).min(1, { error: allowed });
const yesNo = () => z.boolean({ error: "must be true or false" });
/** The two fields of a chart the program pins: an exact version, from an https:// repository. */
const pinnedChart = (version: string, repository: string) => ({
  chartVersion: text(exactVersion, `must be an exact chart version such as ${version} (no ranges: charts are pinned)`).default(version),
  repository: z.url({ protocol: /^https$/, error: "must be an https:// Helm repository URL" }).default(repository),
});
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `must be one of ${values.join(", ")}` });
/** A mapping that rejects unknown keys, naming the allowed ones. */
const section = <S extends z.ZodRawShape>(shape: S) => {
  const keys = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === "unrecognized_keys"
        ? `unknown setting (allowed: ${keys})`
        : `must be a mapping with the keys ${keys}`,
  });
};

const nodeImage = z
  .string({ error: "must be a node image reference" })
  .superRefine((image, ctx) => {
    const match = pinnedNodeImage.exec(image);
    if (!match) {
      ctx.addIssue({
        code: "custom",
        message: `must be pinned by tag and digest, like ${defaultNodeImage}`,
      });
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
  listenAddress: z
    .union([z.ipv4(), z.ipv6()], { error: "must be an IPv4 or IPv6 address" })
    .default("127.0.0.1"),
  protocol: oneOf(["TCP", "UDP", "SCTP"]).default("TCP"),
});

const clusterSettings = (stack: string) =>
  section({
    // kind: the stack creates (and deletes) a kind cluster. existing: it deploys into a cluster it does not own.
    kind: oneOf(["kind", "existing"]).default("kind"),
    kubeconfigPath: nonEmpty("must be the path of a kubeconfig file").optional(),
    context: nonEmpty("must be a context of the kubeconfig").optional(),
    // prefault, not default: a name derived from the stack name must pass the same check.
    name: text(kindClusterName, "must be a kind cluster name: lower-case letters, digits, '.' and '-'").prefault(
      `gitops-${stack}`,
    ),
    nodeImage: nodeImage.default(defaultNodeImage),
    workers: wholeNumber(0, 10).default(0),
    waitTimeout: text(goDuration, "must be a duration such as 90s or 5m").default("5m"),
    extraPortMappings: z
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
  }).superRefine((cluster, ctx) => {
    if (cluster.kind === "kind") {
      for (const key of ["kubeconfigPath", "context"] as const) {
        if (cluster[key] !== undefined) {
          ctx.addIssue({ code: "custom", path: [key], input: cluster[key], message: "is only used with cluster.kind: existing" });
        }
      }
    }
  });

const namespaceName = text(dnsLabel, "must be a namespace name (DNS label: a-z, 0-9, '-', at most 63)").max(63, {
  error: "must be a namespace name (DNS label: a-z, 0-9, '-', at most 63)",
});
const namespaceSettings = section({
  flux: namespaceName.default("flux-system"),
  server: namespaceName.default("server"),
  monitoring: namespaceName.default("monitoring"),
}).superRefine((names, ctx) => {
  const roles = Object.keys(names) as (keyof typeof names)[];
  roles.forEach((role, index) => {
    const earlier = roles.slice(0, index).find((other) => names[other] === names[role]);
    if (earlier) {
      ctx.addIssue({
        code: "custom",
        path: [role],
        input: names[role],
        message: `must differ from namespaces.${earlier}: each role gets its own namespace`,
      });
    }
  });
});

const fluxSettings = section({
  ...pinnedChart("2.18.3", "https://fluxcd-community.github.io/helm-charts"),
  timeoutSeconds: wholeNumber(600, 3600).default(900),
});

// An image reference with a tag (and optionally a digest): registry/path:tag[@sha256:...].
const taggedImage =
  /^(?<repository>(?:[a-zA-Z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*):(?<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})(?:@sha256:[a-f0-9]{64})?$/;

/** The repository part of an image reference (what Flux scans for new tags). */
export function imageRepository(image: string): string {
  const repository = taggedImage.exec(image)?.groups?.repository;
  if (repository === undefined) throw new Error(`not a tagged image reference: ${image}`);
  return repository;
}

// Kubernetes resource quantities, as the API server parses them for CPU and memory.
const cpuQuantity = /^(?<value>[0-9]+(?:\.[0-9]+)?)(?<unit>m?)$/;
const memoryQuantity = /^(?<value>[0-9]+(?:\.[0-9]+)?)(?<unit>Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;
const memoryUnits: Record<string, number> = {
  "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};
/** CPU in millicores, memory in bytes: comparable numbers (undefined for a malformed quantity). */
function quantityValue(quantity: string, pattern: RegExp): number | undefined {
  const groups = pattern.exec(quantity)?.groups;
  if (!groups) return undefined;
  const value = Number(groups.value);
  return pattern === cpuQuantity ? value * (groups.unit === "m" ? 1 : 1000) : value * memoryUnits[groups.unit ?? ""]!;
}
// YAML reads `cpu: 1` as a number; Kubernetes accepts it, so do we.
const quantity = (pattern: RegExp, allowed: string) =>
  z.preprocess((value) => (typeof value === "number" ? String(value) : value), text(pattern, allowed));
const cpu = quantity(cpuQuantity, "must be a CPU quantity such as 50m or 0.5");
const memory = quantity(memoryQuantity, "must be a memory quantity such as 64Mi or 1Gi");
const computeResources = (defaults: { cpu: string; memory: string }) =>
  section({ cpu: cpu.default(defaults.cpu), memory: memory.default(defaults.memory) }).prefault({});

const serverSettings = section({
  image: text(taggedImage, "must be an image reference with a tag, like ricoberger/gitops-using-flux:1.0.0").default(
    "ricoberger/gitops-using-flux:1.0.0",
  ),
  replicas: wholeNumber(1, 50).default(1),
  // The server's --log.level (logrus levels).
  logLevel: oneOf(["trace", "debug", "info", "warn", "error", "fatal", "panic"]).default("info"),
  resources: section({
    requests: computeResources({ cpu: "50m", memory: "64Mi" }),
    limits: computeResources({ cpu: "100m", memory: "128Mi" }),
  })
    .prefault({})
    .superRefine((resources, ctx) => {
      for (const [resource, pattern] of [["cpu", cpuQuantity], ["memory", memoryQuantity]] as const) {
        // Runs even when a quantity is malformed (already reported): compare only well-formed ones.
        const request = quantityValue(resources.requests[resource], pattern);
        const limit = quantityValue(resources.limits[resource], pattern);
        if (request !== undefined && limit !== undefined && request > limit) {
          ctx.addIssue({
            code: "custom",
            path: ["requests", resource],
            input: resources.requests[resource],
            message: `must not exceed limits.${resource} (${resources.limits[resource]})`,
          });
        }
      }
    }),
});

const prometheusSettings = section({
  ...pinnedChart("88.5.3", "https://prometheus-community.github.io/helm-charts"),
  // Prometheus durations: a number and a unit, possibly repeated (1d, 12h, 1w2d).
  retention: text(/^([0-9]+(ms|s|m|h|d|w|y))+$/, "must be a Prometheus duration such as 12h or 1d").default("1d"),
  replicas: wholeNumber(1, 3).default(1),
  enableAdminAPI: yesNo().default(true),
  readyTimeoutSeconds: wholeNumber(600, 3600).default(900),
});

const sortOrder = oneOf(["asc", "desc"]);
/** Checks a Go (RE2) pattern and that `extract` only names groups it has. */
const filterTags = section({
  pattern: z.string({ error: "must be a regular expression (Go RE2 syntax)" }),
  extract: z.string({ error: "must be a replacement such as $ts naming a group of the pattern" }).optional(),
}).superRefine((filter, ctx) => {
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(filter.pattern);
  } catch (error) {
    ctx.addIssue({
      code: "custom",
      path: ["pattern"],
      input: filter.pattern,
      message: `must be a valid Go (RE2) regular expression: ${(error as Error).message}`,
    });
    return;
  }
  const groups = new Set<string>([...Object.keys(compiled.namedGroups()), ...Array.from({ length: compiled.groupCount() + 1 }, (_, i) => String(i))]);
  for (const match of (filter.extract ?? "").matchAll(/\$(?:\{(?<braced>[^}]*)\}|(?<bare>[A-Za-z0-9_]+))/g)) {
    const group = match.groups?.braced ?? match.groups?.bare ?? "";
    if (!groups.has(group)) {
      ctx.addIssue({
        code: "custom",
        path: ["extract"],
        input: filter.extract,
        message: `must name a group of the pattern: it has no group "${group}"`,
      });
    }
  }
});
/** Flux evaluates ranges with Masterminds/semver, where ',' means AND as a space does. */
const semverRange = z.string({ error: "must be a semver range such as >=1.0.0" }).refine(
  (range) => range.trim() !== "" && semver.validRange(range.replaceAll(",", " ")) !== null,
  { error: "must be a semver range such as >=1.0.0 or ^1.2" },
);
const imagePolicySettings = section({
  scanInterval: text(goDuration, "must be a duration such as 1m or 5m").default("5m"),
  // The demo's prod rule: strict MAJOR.MINOR.PATCH tags only (a bare "semver" also took a tag 1337).
  filterTags: filterTags.default({ pattern: "^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)$" }),
  policy: section({
    semver: section({ range: semverRange }).optional(),
    numerical: section({ order: sortOrder }).optional(),
    alphabetical: section({ order: sortOrder }).optional(),
  })
    .superRefine((policy, ctx) => {
      const chosen = Object.values(policy).filter((rule) => rule !== undefined).length;
      if (chosen !== 1) {
        ctx.addIssue({ code: "custom", input: policy, message: "must set exactly one of semver, numerical, alphabetical" });
      }
    })
    .default({ semver: { range: ">=1.0.0" } }),
}).superRefine((imagePolicy, ctx) => {
  if (imagePolicy.policy.numerical && !imagePolicy.filterTags.extract) {
    ctx.addIssue({
      code: "custom",
      path: ["filterTags", "extract"],
      input: imagePolicy.filterTags.extract,
      message: "must name the number to order by (such as $ts) when policy is numerical",
    });
  }
});

/** GitHub's published SSH host keys (docs.github.com, "GitHub's SSH key fingerprints"). */
export const githubKnownHosts = [
  "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
  "github.com ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEmKSENjQEezOmxkZMy7opKgwFB9nkt5YRrYMjNuG5N87uRgg6CLrbo5wAdT/y6v0mKV0U2w0WZ2YB/++Tpockg=",
  "github.com ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQCj7ndNxQowgcQnjshcLrqPEiiphnt+VTTvDP6mHBL9j1aNUkY4Ue1gvwnGLVlOhGeYrnZaMgRK6+PKCUXaDbC7qtbW8gIkhL7aGCsOr/C56SJMy/BCZfxd1nWzAOxSDPgVsmerOBYfNqltV9/hWCqBywINIR+5dIg6JTJ72pcEpEjcYgXkE2YEFXV1JHnsKgbLWNlhScqb2UmyRkQyytRLtL+38TGxkxCflmO+5Z8CSSNY7GidjMIZ7Q4zMjA2n1nGrlTDkzwDCsw+wqFPGQA179cnfGWOWRVruj16z6XyvxvjJwbz0wQZ75XK5tKSb7FNyeIEs4TT4jk+S4dhPeAUC5y+bDYirYgM4GC7uEnztnZyaVWQ7B381AK4Qdrwt51ZqExKbQpTUNn+EjqoTwvqNj4kqx5QUCI0ThS/YkOxJCXmPUWZbhjpCg56i+2aB6CmK2JGhn57K5mj0MNdBXA4/WnwH6XoPWJzK5Nyu2zB3nAZp+S5hpQs+p1vN1/wsjk=",
].join("\n");

/** A Git repository URL Flux accepts, taken apart. */
export interface GitLocation {
  readonly url: string;
  readonly scheme: "https" | "ssh";
  readonly host: string;
  /** owner/repo, without a trailing .git */
  readonly repository: string;
}

// The scp-like form the demo used (git@github.com:owner/repo.git): Flux rejects it.
const scpLikeUrl = /^(?<user>[\w.-]+)@(?<host>[\w.-]+):(?!\/\/)(?<path>.+)$/;

/** Parses a repository URL; an error message says what is allowed. */
export function parseGitUrl(url: string): GitLocation | { error: string } {
  const scp = scpLikeUrl.exec(url);
  if (scp?.groups) {
    return {
      error: `must be an ssh:// or https:// URL: Flux does not accept the scp form; use ssh://${scp.groups.user}@${scp.groups.host}/${scp.groups.path?.replace(/^\/+/, "")}`,
    };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { error: "must be an ssh:// or https:// URL such as ssh://git@github.com/owner/repo.git" };
  }
  const scheme = parsed.protocol.replace(/:$/, "");
  if (scheme !== "https" && scheme !== "ssh") {
    return { error: `must be an ssh:// or https:// URL (${scheme}:// is not supported)` };
  }
  const repository = parsed.pathname.replace(/^\/+/, "").replace(/\.git$/, "").replace(/\/+$/, "");
  if (!parsed.hostname || !repository.includes("/")) {
    return { error: "must name a host and a repository, such as ssh://git@github.com/owner/repo.git" };
  }
  return { url, scheme, host: parsed.hostname, repository };
}

/**
 * Name of an environment's server ImagePolicy. It differs per environment because every
 * cluster's image automation scans the whole repository: with one shared name, dev's would
 * rewrite prod's stack file too.
 */
export const serverImagePolicy = (stack: string) => `server-${stack}`;

/** The setter marker Flux's image updates look for on the server image line of a stack file. */
export const imagePolicyMarker = (fluxNamespace: string, stack: string) =>
  `# {"$imagepolicy": "${fluxNamespace}:${serverImagePolicy(stack)}"}`;

/** The page where a deploy key is added, for repositories on GitHub. */
export function deployKeyPage(location: GitLocation): string | undefined {
  return location.host === "github.com" ? `https://github.com/${location.repository}/settings/keys/new` : undefined;
}

// A branch name git accepts (git check-ref-format, the common rules).
const branchName = /^(?!\/|.*(?:\.\.|\/\/|@\{|\/\.|\.lock$|\.$|\/$))[^\s~^:?*[\\\p{Cc}]+$/u;

const gitSettings = (stack: string) =>
  section({
    url: z.string({ error: "must be an ssh:// or https:// URL" }).optional(),
    branch: text(branchName, "must be a branch name (not empty, no spaces, no '..')").default("main"),
    path: z
      .string({ error: "must be a path inside the repository, such as ./stacks/dev/apps" })
      .refine((value) => !value.startsWith("/") && !value.split("/").includes(".."), {
        error: "must be a path inside the repository, such as ./stacks/dev/apps (no '..', not absolute)",
      })
      .default(`./stacks/${stack}/apps`),
    interval: text(goDuration, "must be a duration such as 1m or 5m").default("5m"),
    prune: yesNo().default(true),
    timeout: text(goDuration, "must be a duration such as 20s or 1m").default("20s"),
    healthTimeout: text(goDuration, "must be a duration such as 2m or 5m").default("3m"),
    knownHosts: z.string({ error: "must be known_hosts lines (ssh-keyscan <host>)" }).optional(),
    readOnly: yesNo().default(true),
    username: nonEmpty("must be a user name").default("git"),
    imageUpdates: section({
      enabled: yesNo().default(false),
      interval: text(goDuration, "must be a duration such as 1m or 5m").default("5m"),
      // Set together or not at all: a commit needs both.
      author: section({
        name: nonEmpty("must be a name"),
        email: z.email({ error: "must be an email address" }),
      // Flux's own documented bot (fluxcd.io image update guide). Not the talk's "Weave Flux
      // <support@weave.works>": Git hosts credit commits to whoever now owns that address.
      }).default({ name: "fluxcdbot", email: "fluxcdbot@users.noreply.github.com" }),
    }).prefault({}),
  }).superRefine((git, ctx) => {
    const issue = (path: PropertyKey[], input: unknown, message: string) => ctx.addIssue({ code: "custom", path, input, message });
    const location = git.url === undefined ? undefined : parseGitUrl(git.url);
    if (location && "error" in location) issue(["url"], git.url, location.error);
    if (git.imageUpdates.enabled) {
      if (git.url === undefined) issue(["imageUpdates", "enabled"], true, "needs git.url: image updates are commits to that repository");
      // An SSH deploy key's access is chosen where it is added; an HTTPS token carries its own rights.
      if (git.readOnly && location && !("error" in location) && location.scheme === "ssh") {
        issue(["readOnly"], true, "must be false when imageUpdates.enabled: Flux pushes commits (give the deploy key write access)");
      }
    }
    if (location && !("error" in location) && location.scheme === "ssh" && location.host !== "github.com" && !git.knownHosts) {
      issue(["knownHosts"], undefined, `must list ${location.host}'s SSH host keys (ssh-keyscan ${location.host}): only github.com's are built in`);
    }
  });

/** Settings only ever read as Pulumi secrets (pulumi config set --secret ...): their values are never shown. */
export const secretSettings = {
  kubeconfig: "the kubeconfig of an existing cluster (cluster.kind: existing)",
  gitSshPrivateKey: "an SSH private key for ssh:// repositories, instead of the generated one",
  gitToken: "a token (the password of git.username) for https:// repositories",
} as const;
export type SecretSetting = keyof typeof secretSettings;

/** The Pulumi configuration keys of this project (namespace `gitops:`), one per concern. */
export const settingsSchema = (stack: string) => {
  const shape = {
    cluster: clusterSettings(stack).prefault({}),
    namespaces: namespaceSettings.prefault({}),
    flux: fluxSettings.prefault({}),
    server: serverSettings.prefault({}),
    prometheus: prometheusSettings.prefault({}),
    imagePolicy: imagePolicySettings.prefault({}),
    git: gitSettings(stack).prefault({}),
  };
  const allowed = [...Object.keys(shape), ...Object.keys(secretSettings)].join(", ");
  return z.strictObject(shape, { error: `unknown setting (allowed: ${allowed})` });
};

export type ConfigSettings = z.output<ReturnType<typeof settingsSchema>>;
export type ClusterSettings = ConfigSettings["cluster"];
export type PortMapping = ClusterSettings["extraPortMappings"][number];
export type NamespaceSettings = ConfigSettings["namespaces"];
export type ServerSettings = ConfigSettings["server"];
export type PrometheusSettings = ConfigSettings["prometheus"];
export type ImagePolicySettings = ConfigSettings["imagePolicy"];
export type GitSettings = ConfigSettings["git"];

/** Helm values: a YAML mapping. */
export type HelmValues = { [key: string]: unknown };

/** Everything the program needs for one stack. */
export interface Settings extends ConfigSettings {
  readonly stack: string;
  readonly flux: ConfigSettings["flux"] & { readonly values: HelmValues };
  /** The repository URL taken apart, when one is configured. */
  readonly gitLocation?: GitLocation;
  /** Secret settings that are set, as Pulumi secrets. */
  readonly secrets: Partial<Record<SecretSetting, pulumi.Output<string>>>;
  /** Things that work but probably not as the user means; shown as warnings. */
  readonly warnings: readonly string[];
  /** For cluster.kind existing: how to reach the cluster. */
  readonly existingCluster?: ExistingClusterAccess;
}

export interface ExistingClusterAccess {
  /** The kubeconfig, always a Pulumi secret. */
  readonly kubeconfig: pulumi.Output<string>;
  /** Absolute path of the kubeconfig file, when it came from cluster.kubeconfigPath. */
  readonly path?: string;
  readonly context?: string;
}

/** `~/…` and paths relative to the project root, as a user writes them in a stack file. */
export function resolveUserPath(file: string): string {
  const expanded = file === "~" || file.startsWith("~/") ? path.join(os.homedir(), file.slice(1)) : file;
  return path.resolve(projectRoot, expanded);
}

/** A stack's settings are invalid; `problems` lists each one as `key: value — what is allowed`. */
export class ConfigurationError extends pulumi.RunError {
  constructor(
    readonly stackName: string,
    readonly problems: readonly string[],
  ) {
    super(
      `Invalid configuration for stack "${stackName}" (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((problem) => `  - ${problem}`).join("\n"),
    );
    this.name = "ConfigurationError";
  }
}

/** One stack file of stacks/<stack>/, as read from disk. */
export interface StackFile {
  /** Path relative to the project root, used in messages. */
  readonly path: string;
  readonly text: string;
}

export interface RawSettings {
  readonly stack: string;
  readonly project: string;
  /** Pulumi configuration as the engine hands it over: `project:key` → string (JSON for structured values). */
  readonly config: Readonly<Record<string, string>>;
  /** The configuration keys that are stored encrypted (set with --secret). */
  readonly secretKeys?: readonly string[];
  /** stacks/<stack>/flux-values.yaml, when the stack has one. */
  readonly fluxValuesFile?: StackFile;
  /** The stack file itself (Pulumi.<stack>.yaml), to check the setter marker image updates need. */
  readonly stackFile?: StackFile;
  /** Reads a file the settings name (cluster.kubeconfigPath); undefined when it cannot. */
  readonly readFile?: (absolutePath: string) => string | undefined;
}

/** Program defaults for the flux2 chart (charts/flux2/values.yaml of chart 2.18.3 names every key). */
export const fluxDefaultValues: HelmValues = {
  // The demo requested 50m/64Mi for its Flux daemon; each Flux v2 controller gets the same.
  ...Object.fromEntries(
    [
      "sourceController",
      "kustomizeController",
      "helmController",
      "notificationController",
      "imageReflectionController",
      "imageAutomationController",
    ].map((controller) => [
      controller,
      { create: true, resources: { requests: { cpu: "50m", memory: "64Mi" } } },
    ]),
  ),
  // The PodMonitor CRD arrives with Prometheus, which Flux installs later: enabling this
  // would make the first install fail. The program creates the Flux PodMonitor instead.
  prometheus: { podMonitor: { create: false } },
};

/** Validates a stack's configuration and files; throws ConfigurationError listing every problem. */
export function parseSettings(raw: RawSettings): Settings {
  const problems: string[] = [];
  const input = configInput(raw, problems);
  const schema = settingsSchema(raw.stack);
  const parsed = schema.safeParse(input, { reportInput: true });
  if (!parsed.success) {
    problems.push(...parsed.error.issues.flatMap((issue) => describeIssue(raw.project, input, issue)));
  }
  const fluxValues = raw.fluxValuesFile ? parseFluxValues(raw.fluxValuesFile, problems) : {};
  const secrets = readSecrets(raw, problems);
  const gitLocation = parsed.success && parsed.data.git.url !== undefined ? parseGitUrl(parsed.data.git.url) : undefined;
  if (parsed.success && gitLocation && !("error" in gitLocation)) {
    problems.push(...secretProblems(raw.project, parsed.data.git, gitLocation, secrets));
  }
  const existingCluster = parsed.success ? existingClusterAccess(raw, parsed.data.cluster, secrets, problems) : undefined;
  if (problems.length > 0 || !parsed.success) {
    throw new ConfigurationError(raw.stack, problems);
  }
  return {
    ...parsed.data,
    stack: raw.stack,
    flux: { ...parsed.data.flux, values: mergeValues(fluxDefaultValues, fluxValues) },
    gitLocation: gitLocation && !("error" in gitLocation) ? gitLocation : undefined,
    secrets: Object.fromEntries(Object.entries(secrets).map(([key, value]) => [key, pulumi.secret(value)])),
    warnings: markerWarnings(parsed.data, raw.stack, raw.stackFile),
    existingCluster,
  };
}

const readFileOrUndefined = (file: string): string | undefined => {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
};

/** An existing cluster's kubeconfig: from exactly one of cluster.kubeconfigPath and the secret kubeconfig. */
function existingClusterAccess(
  raw: RawSettings,
  cluster: ClusterSettings,
  secrets: Partial<Record<SecretSetting, string>>,
  problems: string[],
): ExistingClusterAccess | undefined {
  const key = (name: string) => `${raw.project}:${name}`;
  if (cluster.kind === "kind") {
    if (secrets.kubeconfig !== undefined) problems.push(`${key("kubeconfig")}: (value hidden) — is only used with cluster.kind: existing`);
    return undefined;
  }
  if (cluster.kubeconfigPath !== undefined && secrets.kubeconfig !== undefined) {
    problems.push(`${key("cluster.kubeconfigPath")}: ${show(cluster.kubeconfigPath)} — must not be set together with the secret ${key("kubeconfig")}: choose one`);
    return undefined;
  }
  if (secrets.kubeconfig !== undefined) return { kubeconfig: pulumi.secret(secrets.kubeconfig), context: cluster.context };
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
  const file = resolveUserPath(cluster.kubeconfigPath);
  const text = (raw.readFile ?? readFileOrUndefined)(file);
  if (text === undefined || text.trim() === "") {
    problems.push(`${key("cluster.kubeconfigPath")}: ${show(cluster.kubeconfigPath)} — must be a readable, non-empty kubeconfig file (${file})`);
    return undefined;
  }
  return { kubeconfig: pulumi.secret(text), path: file, context: cluster.context };
}

/**
 * Image updates rewrite the line of the stack file that carries the setter marker. Tools that
 * rewrite the file (`pulumi config set`) may drop comments, and with them the marker.
 */
function markerWarnings(settings: ConfigSettings, stack: string, stackFile?: StackFile): string[] {
  if (!settings.git.imageUpdates.enabled || !stackFile) return [];
  const marker = imagePolicyMarker(settings.namespaces.flux, stack);
  const marked = stackFile.text.split("\n").some((line) => /^\s*image:\s*\S+/.test(line) && line.trimEnd().endsWith(marker));
  return marked
    ? []
    : [
        `git.imageUpdates is on, but no image line of ${stackFile.path} ends with the marker ${marker}: ` +
          "Flux will find nothing to update (`pulumi config set` may have removed the comment; add it back to the server image line)",
      ];
}

/** Secret settings: set with --secret (the stack file is committed), never echoed in a message. */
function readSecrets(raw: RawSettings, problems: string[]): Partial<Record<SecretSetting, string>> {
  const secrets: Partial<Record<SecretSetting, string>> = {};
  for (const [name, what] of Object.entries(secretSettings) as [SecretSetting, string][]) {
    const key = `${raw.project}:${name}`;
    const value = raw.config[key];
    if (value === undefined) continue;
    if (!(raw.secretKeys ?? []).includes(key)) {
      problems.push(`${key}: (value hidden) — must be stored encrypted, it is ${what}: pulumi config set --secret ${name} <value>`);
    } else if (value.trim() === "") {
      problems.push(`${key}: (empty) — must be ${what}`);
    } else {
      secrets[name] = value;
    }
  }
  return secrets;
}

/** Which secret goes with which URL, and what image updates need to push. */
function secretProblems(
  project: string,
  git: GitSettings,
  location: GitLocation,
  secrets: Partial<Record<SecretSetting, string>>,
): string[] {
  const problems: string[] = [];
  if (location.scheme === "https" && secrets.gitSshPrivateKey !== undefined) {
    problems.push(`${project}:gitSshPrivateKey: (value hidden) — is only used with ssh:// URLs; git.url is https://`);
  }
  if (location.scheme === "ssh" && secrets.gitToken !== undefined) {
    problems.push(`${project}:gitToken: (value hidden) — is only used with https:// URLs; git.url is ssh://`);
  }
  if (location.scheme === "https" && git.imageUpdates.enabled && secrets.gitToken === undefined) {
    problems.push(
      `${project}:gitToken: (missing) — must be set when git.imageUpdates.enabled over https://: Flux pushes commits (pulumi config set --secret gitToken <token>)`,
    );
  }
  return problems;
}

/** Reads the running stack's configuration and files once (Pulumi engine or mock engine alike). */
export function readSettings(): Settings {
  const config = pulumi.runtime.allConfig();
  return settingsWithStackFiles({
    stack: pulumi.getStack(),
    project: pulumi.getProject(),
    config,
    secretKeys: Object.keys(config).filter(isConfigSecret),
  });
}

/**
 * Validates a stack's configuration together with its own files (stacks/<stack>/flux-values.yaml,
 * Pulumi.<stack>.yaml), read from the project: the program and every offline tool check the same.
 */
export function settingsWithStackFiles(raw: Pick<RawSettings, "stack" | "project" | "config" | "secretKeys">): Settings {
  const projectFile = (file: string): StackFile | undefined => {
    const text = readFileOrUndefined(path.join(projectRoot, file));
    return text === undefined ? undefined : { path: file, text };
  };
  return parseSettings({
    ...raw,
    fluxValuesFile: projectFile(path.join("stacks", raw.stack, "flux-values.yaml")),
    stackFile: projectFile(`Pulumi.${raw.stack}.yaml`),
  });
}

// The SDK's runtime has this check but does not declare it.
const isConfigSecret = (key: string): boolean =>
  (runtimeConfig as unknown as { isConfigSecret(key: string): boolean }).isConfigSecret(key);

/** Deep-merges Helm values the way Helm does: mappings merge, lists and scalars replace. */
export function mergeValues(base: HelmValues, override: HelmValues): HelmValues {
  const merged: HelmValues = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = merged[key];
    merged[key] = isMapping(current) && isMapping(value) ? mergeValues(current, value) : value;
  }
  return merged;
}

export function isMapping(value: unknown): value is HelmValues {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

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

function parseFluxValues(file: StackFile, problems: string[]): HelmValues {
  const lines = new YAML.LineCounter();
  const document = YAML.parseDocument(file.text, { prettyErrors: false, uniqueKeys: true, lineCounter: lines });
  if (document.errors.length > 0) {
    problems.push(
      ...document.errors.map((error) => {
        const { line, col } = lines.linePos(error.pos[0]);
        return `${file.path}:${line}:${col}: ${error.message.split("\n")[0]} — must be valid YAML`;
      }),
    );
    return {};
  }
  const values: unknown = document.toJS() ?? {};
  if (!isMapping(values)) {
    problems.push(`${file.path}: ${show(values)} — must be a mapping of flux2 chart values`);
    return {};
  }
  const podMonitor = (values.prometheus as HelmValues | undefined)?.podMonitor as HelmValues | undefined;
  if (podMonitor?.create === true) {
    problems.push(
      `${file.path}: prometheus.podMonitor.create: true — must stay false: the PodMonitor CRD only exists ` +
        "after Flux has installed Prometheus, so the first install would fail (the program creates the Flux PodMonitor itself)",
    );
  }
  return values;
}

function describeIssue(project: string, input: unknown, issue: z.core.$ZodIssue): string[] {
  const keyOf = (pathParts: readonly PropertyKey[]) =>
    `${project}:` +
    pathParts.map((part, index) => (typeof part === "number" ? `[${part}]` : `${index === 0 ? "" : "."}${String(part)}`)).join("");
  if (issue.code === "unrecognized_keys") {
    const parent = valueAt(input, issue.path);
    return issue.keys.map((key) => {
      const value = isMapping(parent) ? parent[key] : undefined;
      return `${keyOf([...issue.path, key])}: ${show(value)} — ${issue.message}`;
    });
  }
  const value = "input" in issue ? issue.input : valueAt(input, issue.path);
  return [`${keyOf(issue.path)}: ${show(value)} — ${issue.message}`];
}

function valueAt(root: unknown, pathParts: readonly PropertyKey[]): unknown {
  let value = root;
  for (const part of pathParts) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return value;
}

function show(value: unknown): string {
  if (value === undefined) return "(missing)";
  // Long enough for a full image reference; a whole mapping is cut short.
  const shown = JSON.stringify(value);
  return shown.length > 200 ? `${shown.slice(0, 197)}...` : shown;
}
