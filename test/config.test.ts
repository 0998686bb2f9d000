import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigurationError, defaultNodeImage, parseSettings, projectRoot, type RawSettings } from "../infra/config";
import { loadStackConfig } from "../infra/offline/stackConfig";
import { evaluate, shippedStacks } from "./helpers";

const digest = "sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5";

function settingsFor(config: Record<string, unknown>, extra: Partial<RawSettings> = {}) {
  return parseSettings({
    stack: "qa",
    project: "gitops",
    config: Object.fromEntries(
      Object.entries(config).map(([key, value]) => [`gitops:${key}`, typeof value === "string" ? value : JSON.stringify(value)]),
    ),
    ...extra,
  });
}

function problemsOf(config: Record<string, unknown>, extra: Partial<RawSettings> = {}): readonly string[] {
  try {
    settingsFor(config, extra);
  } catch (error) {
    assert.ok(error instanceof ConfigurationError, `expected a ConfigurationError, got ${String(error)}`);
    return error.problems;
  }
  assert.fail("the configuration was accepted");
}

describe("configuration", () => {
  it("fills every default when a stack sets nothing", () => {
    const settings = settingsFor({});
    assert.equal(settings.cluster.name, "gitops-qa");
    assert.equal(settings.cluster.nodeImage, defaultNodeImage);
    assert.equal(settings.cluster.workers, 0);
    assert.equal(settings.cluster.waitTimeout, "5m");
    assert.deepEqual(settings.cluster.extraPortMappings, []);
    assert.deepEqual(settings.namespaces, { flux: "flux-system", server: "server", monitoring: "monitoring" });
    assert.equal(settings.flux.chartVersion, "2.18.3");
    assert.equal(settings.flux.repository, "https://fluxcd-community.github.io/helm-charts");
    assert.equal(settings.flux.timeoutSeconds, 900);
    assert.deepEqual(settings.server, {
      image: "ricoberger/gitops-using-flux:1.0.0",
      replicas: 1,
      logLevel: "info",
      resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "100m", memory: "128Mi" } },
    });
    assert.deepEqual(settings.prometheus, {
      chartVersion: "88.5.3",
      repository: "https://prometheus-community.github.io/helm-charts",
      retention: "1d",
      replicas: 1,
      enableAdminAPI: true,
      readyTimeoutSeconds: 900,
    });
    assert.deepEqual(settings.imagePolicy, {
      scanInterval: "5m",
      filterTags: { pattern: "^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)$" },
      policy: { semver: { range: ">=1.0.0" } },
    });
  });

  it("accepts what Flux accepts: comma-separated semver ranges, ${group} and numbered groups", () => {
    const settings = settingsFor({
      imagePolicy: { filterTags: { pattern: "^v(\\d+)-(?P<ts>\\d+)$", extract: "${ts}-$1" }, policy: { semver: { range: ">=1.0, <2.0" } } },
    });
    assert.equal(settings.imagePolicy.filterTags.extract, "${ts}-$1");
  });

  it("compares resource quantities across units (0.5 CPU is 500m, 1Gi is 1024Mi)", () => {
    assert.doesNotThrow(() => settingsFor({ server: { resources: { requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: "0.5", memory: "1024Mi" } } } }));
    assert.deepEqual(problemsOf({ server: { resources: { requests: { cpu: "0.6" }, limits: { cpu: "500m" } } } }), [
      'gitops:server.resources.requests.cpu: "0.6" — must not exceed limits.cpu (500m)',
    ]);
  });

  it("merges a partial section over the defaults instead of replacing it", () => {
    const settings = settingsFor({ cluster: { workers: 3 }, namespaces: { server: "demo" } });
    assert.equal(settings.cluster.workers, 3);
    assert.equal(settings.cluster.name, "gitops-qa");
    assert.deepEqual(settings.namespaces, { flux: "flux-system", server: "demo", monitoring: "monitoring" });
  });

  it("fills port mapping defaults: loopback only, TCP", () => {
    const settings = settingsFor({ cluster: { extraPortMappings: [{ containerPort: 30080, hostPort: 8080 }] } });
    assert.deepEqual(settings.cluster.extraPortMappings, [
      { containerPort: 30080, hostPort: 8080, listenAddress: "127.0.0.1", protocol: "TCP" },
    ]);
  });

  for (const stack of shippedStacks) {
    it(`accepts the shipped stack file Pulumi.${stack}.yaml`, () => {
      const { config, project } = loadStackConfig(stack);
      const settings = parseSettings({ stack, project, config });
      assert.equal(settings.cluster.name, `gitops-${stack}`);
    });
  }

  const rejected: [string, Record<string, unknown>, string][] = [
    ["a negative worker count", { cluster: { workers: -1 } }, "gitops:cluster.workers: -1 — must be a whole number from 0 to 10"],
    ["a fractional worker count", { cluster: { workers: 1.5 } }, "gitops:cluster.workers: 1.5 — must be a whole number from 0 to 10"],
    ["a worker count given as text", { cluster: { workers: "two" } }, 'gitops:cluster.workers: "two" — must be a whole number from 0 to 10'],
    [
      "a cluster name kind rejects",
      { cluster: { name: "Dev_Cluster" } },
      `gitops:cluster.name: "Dev_Cluster" — must be a kind cluster name: lower-case letters, digits, '.' and '-'`,
    ],
    [
      "a node image without a digest",
      { cluster: { nodeImage: "kindest/node:v1.36.1" } },
      `gitops:cluster.nodeImage: "kindest/node:v1.36.1" — must be pinned by tag and digest, like ${defaultNodeImage}`,
    ],
    [
      "a node image too old for Flux",
      { cluster: { nodeImage: `kindest/node:v1.31.4@${digest}` } },
      `gitops:cluster.nodeImage: "kindest/node:v1.31.4@${digest}" — must be Kubernetes v1.33 or newer (Flux 2.8 needs it), like ${defaultNodeImage}`,
    ],
    [
      "a wait timeout without a unit",
      { cluster: { waitTimeout: "300" } },
      'gitops:cluster.waitTimeout: "300" — must be a duration such as 90s or 5m',
    ],
    [
      "a host port out of range",
      { cluster: { extraPortMappings: [{ containerPort: 80, hostPort: 70000 }] } },
      "gitops:cluster.extraPortMappings[0].hostPort: 70000 — must be a whole number from 1 to 65535",
    ],
    [
      "two mappings on one host port",
      {
        cluster: {
          extraPortMappings: [
            { containerPort: 80, hostPort: 8080 },
            { containerPort: 81, hostPort: 8080 },
          ],
        },
      },
      "gitops:cluster.extraPortMappings[1].hostPort: 8080 — must be unique: another mapping already uses this host port",
    ],
    [
      "an unknown port protocol",
      { cluster: { extraPortMappings: [{ containerPort: 80, hostPort: 8080, protocol: "HTTP" }] } },
      'gitops:cluster.extraPortMappings[0].protocol: "HTTP" — must be one of TCP, UDP, SCTP',
    ],
    [
      "a listen address that is a host name",
      { cluster: { extraPortMappings: [{ containerPort: 80, hostPort: 8080, listenAddress: "localhost" }] } },
      'gitops:cluster.extraPortMappings[0].listenAddress: "localhost" — must be an IPv4 or IPv6 address',
    ],
    [
      "a misspelt cluster setting",
      { cluster: { wokers: 2 } },
      "gitops:cluster.wokers: 2 — unknown setting (allowed: kind, kubeconfigPath, context, name, nodeImage, workers, waitTimeout, extraPortMappings)",
    ],
    [
      "an unknown top-level key",
      { clusters: { workers: 2 } },
      'gitops:clusters: {"workers":2} — unknown setting (allowed: cluster, namespaces, flux, server, prometheus, imagePolicy, git, kubeconfig, gitSshPrivateKey, gitToken)',
    ],
    ["a section that is not a mapping", { cluster: "big" }, 'gitops:cluster: "big" — must be a mapping (set it in Pulumi.qa.yaml or with --path)'],
    [
      "a section that is a list",
      { namespaces: ["a", "b"] },
      'gitops:namespaces: ["a","b"] — must be a mapping with the keys flux, server, monitoring',
    ],
    [
      "a namespace name that is not a DNS label",
      { namespaces: { server: "Server!" } },
      `gitops:namespaces.server: "Server!" — must be a namespace name (DNS label: a-z, 0-9, '-', at most 63)`,
    ],
    [
      "two roles in one namespace",
      { namespaces: { monitoring: "server" } },
      'gitops:namespaces.monitoring: "server" — must differ from namespaces.server: each role gets its own namespace',
    ],
    [
      "a chart version range",
      { flux: { chartVersion: "^2.18.0" } },
      'gitops:flux.chartVersion: "^2.18.0" — must be an exact chart version such as 2.18.3 (no ranges: charts are pinned)',
    ],
    [
      "a chart version 'latest'",
      { flux: { chartVersion: "latest" } },
      'gitops:flux.chartVersion: "latest" — must be an exact chart version such as 2.18.3 (no ranges: charts are pinned)',
    ],
    [
      "a chart repository over plain http",
      { flux: { repository: "http://fluxcd-community.github.io/helm-charts" } },
      'gitops:flux.repository: "http://fluxcd-community.github.io/helm-charts" — must be an https:// Helm repository URL',
    ],
    [
      "a Helm timeout too short for cold image pulls",
      { flux: { timeoutSeconds: 60 } },
      "gitops:flux.timeoutSeconds: 60 — must be a whole number from 600 to 3600",
    ],
    ["no replicas", { server: { replicas: 0 } }, "gitops:server.replicas: 0 — must be a whole number from 1 to 50"],
    [
      "an unknown log level",
      { server: { logLevel: "verbose" } },
      'gitops:server.logLevel: "verbose" — must be one of trace, debug, info, warn, error, fatal, panic',
    ],
    [
      "a CPU quantity with a space",
      { server: { resources: { requests: { cpu: "50 m" } } } },
      'gitops:server.resources.requests.cpu: "50 m" — must be a CPU quantity such as 50m or 0.5',
    ],
    [
      "a memory quantity in MB",
      { server: { resources: { limits: { memory: "128MB" } } } },
      'gitops:server.resources.limits.memory: "128MB" — must be a memory quantity such as 64Mi or 1Gi',
    ],
    [
      "requests above limits",
      { server: { resources: { requests: { memory: "256Mi" } } } },
      'gitops:server.resources.requests.memory: "256Mi" — must not exceed limits.memory (128Mi)',
    ],
    [
      "an image without a tag",
      { server: { image: "ricoberger/gitops-using-flux" } },
      'gitops:server.image: "ricoberger/gitops-using-flux" — must be an image reference with a tag, like ricoberger/gitops-using-flux:1.0.0',
    ],
    [
      "a tag pattern Go's RE2 cannot run (lookahead)",
      { imagePolicy: { filterTags: { pattern: "^master-(?=[a-f0-9]+)" }, policy: { alphabetical: { order: "asc" } } } },
      'gitops:imagePolicy.filterTags.pattern: "^master-(?=[a-f0-9]+)" — must be a valid Go (RE2) regular expression: error parsing regexp: invalid or unsupported Perl syntax: `(?=`',
    ],
    [
      "an extract naming a group the pattern lacks",
      { imagePolicy: { filterTags: { pattern: "^master-[a-f0-9]+-(?P<ts>[0-9]+)$", extract: "$time" }, policy: { numerical: { order: "asc" } } } },
      'gitops:imagePolicy.filterTags.extract: "$time" — must name a group of the pattern: it has no group "time"',
    ],
    [
      "a malformed semver range",
      { imagePolicy: { policy: { semver: { range: ">=1.0.0 <<2" } } } },
      'gitops:imagePolicy.policy.semver.range: ">=1.0.0 <<2" — must be a semver range such as >=1.0.0 or ^1.2',
    ],
    [
      "two tag policies at once",
      { imagePolicy: { policy: { semver: { range: ">=1.0.0" }, alphabetical: { order: "asc" } } } },
      'gitops:imagePolicy.policy: {"semver":{"range":">=1.0.0"},"alphabetical":{"order":"asc"}} — must set exactly one of semver, numerical, alphabetical',
    ],
    [
      "numerical order without a number to extract",
      { imagePolicy: { filterTags: { pattern: "^master-" }, policy: { numerical: { order: "asc" } } } },
      "gitops:imagePolicy.filterTags.extract: (missing) — must name the number to order by (such as $ts) when policy is numerical",
    ],
    [
      "an unknown key in the Prometheus overrides",
      { prometheus: { retension: "2d" } },
      'gitops:prometheus.retension: "2d" — unknown setting (allowed: chartVersion, repository, retention, replicas, enableAdminAPI, readyTimeoutSeconds)',
    ],
    [
      "a Prometheus retention in words",
      { prometheus: { retention: "1 day" } },
      'gitops:prometheus.retention: "1 day" — must be a Prometheus duration such as 12h or 1d',
    ],
    [
      "a Prometheus chart version range",
      { prometheus: { chartVersion: "88.x" } },
      'gitops:prometheus.chartVersion: "88.x" — must be an exact chart version such as 88.5.3 (no ranges: charts are pinned)',
    ],
    [
      "an unknown cluster kind",
      { cluster: { kind: "k3d" } },
      'gitops:cluster.kind: "k3d" — must be one of kind, existing',
    ],
    [
      "an existing cluster without a kubeconfig",
      { cluster: { kind: "existing" } },
      "gitops:cluster.kubeconfigPath: (missing) — must be set (or the secret gitops:kubeconfig: pulumi config set --secret kubeconfig < file) when cluster.kind is existing",
    ],
    [
      "an existing cluster's kubeconfig file without a context",
      { cluster: { kind: "existing", kubeconfigPath: "./test/fixtures/kubeconfig-existing.yaml" } },
      "gitops:cluster.context: (missing) — must name the kubeconfig's context to use with cluster.kubeconfigPath: its current context changes with kubectl config use-context",
    ],
    [
      "an existing cluster's kubeconfig file that cannot be read",
      { cluster: { kind: "existing", kubeconfigPath: "./no/such/kubeconfig", context: "team" } },
      `gitops:cluster.kubeconfigPath: "./no/such/kubeconfig" — must be a readable, non-empty kubeconfig file (${path.join(projectRoot, "no/such/kubeconfig")})`,
    ],
    [
      "a kubeconfig path for a kind cluster the stack creates",
      { cluster: { kubeconfigPath: "~/.kube/config" } },
      'gitops:cluster.kubeconfigPath: "~/.kube/config" — is only used with cluster.kind: existing',
    ],
    [
      "a context for a kind cluster the stack creates",
      { cluster: { context: "kind-other" } },
      'gitops:cluster.context: "kind-other" — is only used with cluster.kind: existing',
    ],
    [
      "the demo's scp-form Git URL",
      { git: { url: "git@github.com:ricoberger/gitops-using-flux.git" } },
      'gitops:git.url: "git@github.com:ricoberger/gitops-using-flux.git" — must be an ssh:// or https:// URL: Flux does not accept the scp form; use ssh://git@github.com/ricoberger/gitops-using-flux.git',
    ],
    [
      "an unsupported Git URL scheme",
      { git: { url: "git://github.com/acme/demo.git" } },
      'gitops:git.url: "git://github.com/acme/demo.git" — must be an ssh:// or https:// URL (git:// is not supported)',
    ],
    [
      "a Git URL without a repository",
      { git: { url: "https://github.com" } },
      'gitops:git.url: "https://github.com" — must name a host and a repository, such as ssh://git@github.com/owner/repo.git',
    ],
    ["an empty branch", { git: { branch: "" } }, 'gitops:git.branch: "" — must be a branch name (not empty, no spaces, no \'..\')'],
    [
      "a sync path escaping the repository",
      { git: { path: "./stacks/../../etc" } },
      'gitops:git.path: "./stacks/../../etc" — must be a path inside the repository, such as ./stacks/dev/apps (no \'..\', not absolute)',
    ],
    ["a sync interval that is not a duration", { git: { interval: "often" } }, 'gitops:git.interval: "often" — must be a duration such as 1m or 5m'],
    [
      "image write-back with a read-only key",
      { git: { url: "ssh://git@github.com/acme/demo.git", imageUpdates: { enabled: true } } },
      "gitops:git.readOnly: true — must be false when imageUpdates.enabled: Flux pushes commits (give the deploy key write access)",
    ],
    [
      "image write-back without a repository",
      { git: { readOnly: false, imageUpdates: { enabled: true } } },
      "gitops:git.imageUpdates.enabled: true — needs git.url: image updates are commits to that repository",
    ],
    [
      "an image update author without an email",
      { git: { imageUpdates: { author: { name: "Weave Flux" } } } },
      "gitops:git.imageUpdates.author.email: (missing) — must be an email address",
    ],
    [
      "an image update author with a malformed email",
      { git: { imageUpdates: { author: { name: "Weave Flux", email: "support at weave.works" } } } },
      'gitops:git.imageUpdates.author.email: "support at weave.works" — must be an email address',
    ],
    [
      "an SSH host other than github.com without known hosts",
      { git: { url: "ssh://git@gitlab.example.com/acme/demo.git" } },
      "gitops:git.knownHosts: (missing) — must list gitlab.example.com's SSH host keys (ssh-keyscan gitlab.example.com): only github.com's are built in",
    ],
  ];
  for (const [what, config, expected] of rejected) {
    it(`rejects ${what}`, () => {
      assert.deepEqual(problemsOf(config), [expected]);
    });
  }

  it("reports malformed shapes as problems, never as a crash", () => {
    const malformed: Record<string, unknown>[] = [
      { imagePolicy: { filterTags: {} } },
      { imagePolicy: { filterTags: "x" } },
      { imagePolicy: { policy: null } },
      { imagePolicy: { filterTags: null, policy: { numerical: { order: "asc" } } } },
      { imagePolicy: { policy: { semver: null } } },
      { cluster: { extraPortMappings: [null, "x"] } },
      { namespaces: { flux: 5, server: 5 } },
      { server: { resources: null } },
      { server: { resources: { requests: null } } },
      { server: { resources: { requests: { cpu: "lots" }, limits: { cpu: null } } } },
    ];
    for (const config of malformed) {
      const problems = problemsOf(config);
      assert.ok(problems.length > 0 && problems.every((problem) => problem.startsWith("gitops:")), JSON.stringify(config));
    }
  });

  it("takes quantities written as YAML numbers, as Kubernetes does", () => {
    const settings = settingsFor({ server: { resources: { requests: { cpu: 0.5 }, limits: { cpu: 1 } } } });
    assert.deepEqual(settings.server.resources.requests.cpu, "0.5");
    assert.deepEqual(settings.server.resources.limits.cpu, "1");
  });

  describe("secret settings", () => {
    const withSecrets = (config: Record<string, unknown>, secrets: Record<string, string>, encrypted = Object.keys(secrets)) =>
      problemsOf(
        { ...config },
        {
          config: {
            ...Object.fromEntries(Object.entries(config).map(([key, value]) => [`gitops:${key}`, JSON.stringify(value)])),
            ...Object.fromEntries(Object.entries(secrets).map(([key, value]) => [`gitops:${key}`, value])),
          },
          secretKeys: encrypted.map((key) => `gitops:${key}`),
        },
      );
    const https = { git: { url: "https://github.com/acme/demo", imageUpdates: { enabled: true } } };

    it("rejects image write-back over HTTPS without a token", () => {
      assert.deepEqual(withSecrets(https, {}), [
        "gitops:gitToken: (missing) — must be set when git.imageUpdates.enabled over https://: Flux pushes commits (pulumi config set --secret gitToken <token>)",
      ]);
    });

    it("rejects a token stored in plain text, without ever showing it", () => {
      const problems = withSecrets(https, { gitToken: "ghp_plaintext_token" }, []);
      assert.deepEqual(problems, [
        "gitops:gitToken: (value hidden) — must be stored encrypted, it is a token (the password of git.username) for https:// repositories: pulumi config set --secret gitToken <value>",
        "gitops:gitToken: (missing) — must be set when git.imageUpdates.enabled over https://: Flux pushes commits (pulumi config set --secret gitToken <token>)",
      ]);
      assert.ok(problems.every((problem) => !problem.includes("ghp_plaintext_token")));
    });

    it("rejects a credential for the other scheme", () => {
      assert.deepEqual(withSecrets({ git: { url: "https://github.com/acme/demo" } }, { gitSshPrivateKey: "KEY" }), [
        "gitops:gitSshPrivateKey: (value hidden) — is only used with ssh:// URLs; git.url is https://",
      ]);
      assert.deepEqual(withSecrets({ git: { url: "ssh://git@github.com/acme/demo" } }, { gitToken: "TOKEN" }), [
        "gitops:gitToken: (value hidden) — is only used with https:// URLs; git.url is ssh://",
      ]);
    });

    it("rejects an existing cluster given both a kubeconfig file and secret config", () => {
      assert.deepEqual(
        withSecrets({ cluster: { kind: "existing", kubeconfigPath: "./test/fixtures/kubeconfig-existing.yaml" } }, { kubeconfig: "apiVersion: v1" }),
        ['gitops:cluster.kubeconfigPath: "./test/fixtures/kubeconfig-existing.yaml" — must not be set together with the secret gitops:kubeconfig: choose one'],
      );
    });

    it("rejects a kubeconfig secret for a kind cluster the stack creates", () => {
      assert.deepEqual(withSecrets({}, { kubeconfig: "apiVersion: v1" }), ["gitops:kubeconfig: (value hidden) — is only used with cluster.kind: existing"]);
    });

    it("resolves ~ in a kubeconfig path to the home directory", () => {
      const settings = settingsFor(
        { cluster: { kind: "existing", kubeconfigPath: "~/.kube/team", context: "team" } },
        { readFile: (file) => (file === path.join(os.homedir(), ".kube/team") ? "apiVersion: v1" : undefined) },
      );
      assert.equal(settings.existingCluster?.path, path.join(os.homedir(), ".kube/team"));
    });

    it("accepts an encrypted token and keeps it a Pulumi secret", async () => {
      const settings = settingsFor(https, {
        config: { "gitops:git": JSON.stringify(https.git), "gitops:gitToken": "TOKEN" },
        secretKeys: ["gitops:gitToken"],
      });
      assert.equal(await pulumi.isSecret(settings.secrets.gitToken!), true);
    });
  });

  it("rejects a default cluster name derived from a stack name kind cannot use", () => {
    assert.deepEqual(problemsOf({}, { stack: "QA" }), [
      `gitops:cluster.name: "gitops-QA" — must be a kind cluster name: lower-case letters, digits, '.' and '-'`,
    ]);
  });

  it("reports every problem at once, across sections and files", () => {
    const problems = problemsOf(
      { cluster: { workers: -1, name: "UPPER" }, flux: { chartVersion: "2.x" } },
      { fluxValuesFile: { path: "stacks/qa/flux-values.yaml", text: "logLevel: [unclosed\n" } },
    );
    assert.equal(problems.length, 4, problems.join("\n"));
    assert.ok(problems.some((problem) => problem.startsWith("gitops:cluster.name:")));
    assert.ok(problems.some((problem) => problem.startsWith("gitops:cluster.workers:")));
    assert.ok(problems.some((problem) => problem.startsWith("gitops:flux.chartVersion:")));
    assert.ok(problems.some((problem) => problem.startsWith("stacks/qa/flux-values.yaml:")));
  });

  it("says how many problems there are and lists each on its own line", () => {
    try {
      settingsFor({ cluster: { workers: -1 }, flux: { timeoutSeconds: 1 } });
      assert.fail("accepted");
    } catch (error) {
      assert.ok(error instanceof ConfigurationError);
      assert.equal(
        error.message,
        'Invalid configuration for stack "qa" (2 problems):\n' +
          "  - gitops:cluster.workers: -1 — must be a whole number from 0 to 10\n" +
          "  - gitops:flux.timeoutSeconds: 1 — must be a whole number from 600 to 3600",
      );
    }
  });

  describe("the stack's flux-values.yaml", () => {
    const withFile = (text: string) => problemsOf({}, { fluxValuesFile: { path: "stacks/qa/flux-values.yaml", text } });

    it("reports malformed YAML with file, line and column", () => {
      const [problem, ...rest] = withFile("logLevel: debug\nsourceController:\n  create: [true\n");
      assert.equal(rest.length, 0);
      assert.match(problem!, /^stacks\/qa\/flux-values\.yaml:\d+:\d+: .+ — must be valid YAML$/);
    });

    it("rejects a duplicate key", () => {
      const [problem] = withFile("logLevel: debug\nlogLevel: info\n");
      assert.match(problem!, /^stacks\/qa\/flux-values\.yaml:2:1: .*[Mm]ap keys must be unique.* — must be valid YAML$/);
    });

    it("rejects a file that is not a mapping", () => {
      assert.deepEqual(withFile("- logLevel\n"), ['stacks/qa/flux-values.yaml: ["logLevel"] — must be a mapping of flux2 chart values']);
    });

    it("refuses the chart's PodMonitor, which would deadlock the first install", () => {
      const [problem] = withFile("prometheus:\n  podMonitor:\n    create: true\n");
      assert.match(problem!, /^stacks\/qa\/flux-values\.yaml: prometheus\.podMonitor\.create: true — must stay false/);
    });

    it("merges over the program's defaults: mappings merge, lists and scalars replace", () => {
      const settings = settingsFor(
        {},
        {
          fluxValuesFile: {
            path: "stacks/qa/flux-values.yaml",
            text: "logLevel: debug\nhelmController:\n  resources:\n    limits: {memory: 1Gi}\nimagePullSecrets: [regcred]\n",
          },
        },
      );
      assert.equal(settings.flux.values.logLevel, "debug");
      assert.deepEqual(settings.flux.values.imagePullSecrets, ["regcred"]);
      assert.deepEqual(settings.flux.values.helmController, {
        create: true,
        resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "1Gi" } },
      });
    });

    it("treats an empty file as no overrides", () => {
      assert.equal(settingsFor({}, { fluxValuesFile: { path: "stacks/qa/flux-values.yaml", text: "# nothing\n" } }).flux.values.logLevel, undefined);
    });
  });

  it("registers nothing for any of the rejected configurations", async () => {
    for (const [what, config, expected] of rejected) {
      const evaluation = await evaluate("dev", { overrides: config });
      assert.ok(evaluation.error instanceof ConfigurationError, what);
      assert.ok(evaluation.error.problems.includes(expected.replace("Pulumi.qa.yaml", "Pulumi.dev.yaml")), what);
      assert.deepEqual(evaluation.registrations, [], what);
    }
  });
});
