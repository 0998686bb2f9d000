// Settings the program refuses, each with its exact message (`key: value — what is allowed`), and
// that nothing is registered when it does; the secret settings, which are never shown.
import assert from "node:assert/strict";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { ConfigurationError, defaultNodeImage, projectRoot } from "../infra/settings/index.ts";
import { evaluate, settle } from "./helpers.ts";
import { problemsOf, rawSettings, rejectionOf, settingsFor, type Secrets } from "./support/settings.ts";

const digest = "sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5";

const rejected: [string, Record<string, unknown>, string][] = [
  [
    "a token written into the Git URL (the value hidden)",
    { git: { url: "https://x-access-token:ghp_SECRET@github.com/acme/demo" } },
    "gitops:git.url: (value hidden) — must not carry credentials: store the token encrypted (pulumi config set --secret gitToken <token>, with git.username if not git)",
  ],
  [
    "a namespace every cluster already has",
    { namespaces: { monitoring: "kube-system" } },
    'gitops:namespaces.monitoring: "kube-system" — must be a namespace of its own: default, kube-system, kube-public, kube-node-lease exist in every cluster (the stack would own, and on destroy delete, it)',
  ],
  [
    "a scan interval of zero",
    { imagePolicy: { scanInterval: "0m" } },
    'gitops:imagePolicy.scanInterval: "0m" — must be a duration such as 1m or 5m (units ms, s, m, h), longer than zero',
  ],
  [
    "a semver range Masterminds/semver refuses",
    { imagePolicy: { policy: { semver: { range: ">=1.0.0 ||" } } } },
    'gitops:imagePolicy.policy.semver.range: ">=1.0.0 ||" — must be a semver range as Flux reads it (Masterminds/semver), such as >=1.0.0, ^1.2 or >=1.0.0 <2.0.0',
  ],
  ["a negative worker count", { cluster: { workers: -1 } }, "gitops:cluster.workers: -1 — must be a whole number from 0 to 10"],
  ["a fractional worker count", { cluster: { workers: 1.5 } }, "gitops:cluster.workers: 1.5 — must be a whole number from 0 to 10"],
  ["a worker count given as text", { cluster: { workers: "two" } }, 'gitops:cluster.workers: "two" — must be a whole number from 0 to 10'],
  [
    "a cluster name kind rejects",
    { cluster: { name: "Dev_Cluster" } },
    `gitops:cluster.name: "Dev_Cluster" — must be a kind cluster name: lower-case letters, digits, '.' and '-', starting with a letter or digit`,
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
    "gitops:cluster.extraPortMappings[1].hostPort: 8080 — must be unique: mapping [0] already takes TCP port 8080 on 127.0.0.1",
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
    "gitops:cluster.wokers: (value not shown) — unknown setting (allowed: kind, kubeconfigPath, context, name, nodeImage, workers, waitTimeout, extraPortMappings, mirrors, registry)",
  ],
  [
    "an unknown top-level key",
    { clusters: { workers: 2 } },
    "gitops:clusters: (value not shown) — unknown setting (allowed: cluster, namespaces, flux, server, prometheus, imagePolicy, git, kubeconfig, gitSshPrivateKey, gitToken, githubToken)",
  ],
  [
    "a section that is not a mapping",
    { cluster: "big" },
    'gitops:cluster: "big" — must be a mapping (set it in Pulumi.qa.yaml or with --path)',
  ],
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
    "a namespace name longer than a DNS label",
    { namespaces: { server: "s".repeat(64) } },
    `gitops:namespaces.server: "${"s".repeat(64)}" — must be a namespace name (DNS label: a-z, 0-9, '-', at most 63)`,
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
    {
      imagePolicy: {
        filterTags: { pattern: "^master-[a-f0-9]+-(?P<ts>[0-9]+)$", extract: "$time" },
        policy: { numerical: { order: "asc" } },
      },
    },
    'gitops:imagePolicy.filterTags.extract: "$time" — must name a group of the pattern: it has no group "time"',
  ],
  [
    "a malformed semver range",
    { imagePolicy: { policy: { semver: { range: ">=1.0.0 <<2" } } } },
    'gitops:imagePolicy.policy.semver.range: ">=1.0.0 <<2" — must be a semver range as Flux reads it (Masterminds/semver), such as >=1.0.0, ^1.2 or >=1.0.0 <2.0.0',
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
    "gitops:prometheus.retension: (value not shown) — unknown setting (allowed: chartVersion, repository, retention, replicas, enableAdminAPI, readyTimeoutSeconds)",
  ],
  [
    "a Prometheus retention in words",
    { prometheus: { retention: "1 day" } },
    'gitops:prometheus.retention: "1 day" — must be a Prometheus duration such as 12h, 1d or 1w2d (units y, w, d, h, m, s, ms, largest first)',
  ],
  [
    "a Prometheus chart version range",
    { prometheus: { chartVersion: "88.x" } },
    'gitops:prometheus.chartVersion: "88.x" — must be an exact chart version such as 88.5.3 (no ranges: charts are pinned)',
  ],
  ["an unknown cluster kind", { cluster: { kind: "k3d" } }, 'gitops:cluster.kind: "k3d" — must be one of kind, existing'],
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
    "a Git URL that is no URL at all",
    { git: { url: "acme/demo" } },
    'gitops:git.url: "acme/demo" — must be an ssh:// or https:// URL such as ssh://git@github.com/owner/repo.git',
  ],
  [
    "a Git URL without a repository",
    { git: { url: "https://github.com" } },
    'gitops:git.url: "https://github.com" — must name a host and a repository, such as ssh://git@github.com/owner/repo.git',
  ],
  ["an empty branch", { git: { branch: "" } }, 'gitops:git.branch: "" — must be a branch name git accepts: not empty'],
  [
    "a sync path escaping the repository",
    { git: { path: "./stacks/../../etc" } },
    "gitops:git.path: \"./stacks/../../etc\" — must be a path inside the repository, such as ./stacks/dev/apps (not empty, no '..', not absolute)",
  ],
  [
    "a sync interval that is not a duration",
    { git: { interval: "often" } },
    'gitops:git.interval: "often" — must be a duration such as 1m or 5m (units ms, s, m, h)',
  ],
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

/** Rejected secret settings: what is set, which secrets (encrypted unless plaintext), the problems. */
const rejectedSecrets: [string, Record<string, unknown>, Secrets, string[]][] = [
  [
    "image write-back over HTTPS without a token",
    { git: { url: "https://github.com/acme/demo", imageUpdates: { enabled: true } } },
    {},
    [
      "gitops:gitToken: (missing) — must be set when git.imageUpdates.enabled over https://: Flux pushes commits (pulumi config set --secret gitToken <token>)",
    ],
  ],
  [
    "a token stored in plain text, which then does not count for image write-back",
    { git: { url: "https://github.com/acme/demo", imageUpdates: { enabled: true } } },
    { secrets: { gitToken: "ghp_plaintext_token" }, plaintext: ["gitToken"] },
    [
      "gitops:gitToken: (value hidden) — must be stored encrypted, it is a token (the password of git.username) for https:// repositories: pulumi config set --secret gitToken <value>",
      "gitops:gitToken: (missing) — must be set when git.imageUpdates.enabled over https://: Flux pushes commits (pulumi config set --secret gitToken <token>)",
    ],
  ],
  [
    "a kubeconfig stored in plain text",
    { cluster: { kind: "existing" } },
    { secrets: { kubeconfig: "apiVersion: v1 # plaintext kubeconfig" }, plaintext: ["kubeconfig"] },
    [
      "gitops:kubeconfig: (value hidden) — must be stored encrypted, it is the kubeconfig of an existing cluster (cluster.kind: existing): pulumi config set --secret kubeconfig <value>",
      "gitops:cluster.kubeconfigPath: (missing) — must be set (or the secret gitops:kubeconfig: pulumi config set --secret kubeconfig < file) when cluster.kind is existing",
    ],
  ],
  [
    "an SSH private key stored in plain text",
    { git: { url: "ssh://git@github.com/acme/demo.git" } },
    { secrets: { gitSshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY----- plaintext" }, plaintext: ["gitSshPrivateKey"] },
    [
      "gitops:gitSshPrivateKey: (value hidden) — must be stored encrypted, it is an SSH private key for ssh:// repositories, instead of the generated one: pulumi config set --secret gitSshPrivateKey <value>",
    ],
  ],
  [
    "empty secrets",
    {},
    { secrets: { kubeconfig: "", gitSshPrivateKey: " \n", gitToken: "\t" } },
    [
      "gitops:kubeconfig: (empty) — must be the kubeconfig of an existing cluster (cluster.kind: existing)",
      "gitops:gitSshPrivateKey: (empty) — must be an SSH private key for ssh:// repositories, instead of the generated one",
      "gitops:gitToken: (empty) — must be a token (the password of git.username) for https:// repositories",
    ],
  ],
  [
    "an SSH private key for an https:// repository",
    { git: { url: "https://github.com/acme/demo" } },
    { secrets: { gitSshPrivateKey: "SECRET-SSH-KEY" } },
    ["gitops:gitSshPrivateKey: (value hidden) — is only used with ssh:// URLs; git.url is https://"],
  ],
  [
    "a token for an ssh:// repository",
    { git: { url: "ssh://git@github.com/acme/demo" } },
    { secrets: { gitToken: "SECRET-TOKEN" } },
    ["gitops:gitToken: (value hidden) — is only used with https:// URLs; git.url is ssh://"],
  ],
  [
    "a GitHub token with no repository to add a deploy key to",
    {},
    { secrets: { githubToken: "SECRET-GITHUB-TOKEN" } },
    [
      "gitops:githubToken: (value hidden) — is only used to add the generated deploy key to an ssh://git@github.com repository; git.url is not set",
    ],
  ],
  [
    "a GitHub token for an https:// repository",
    { git: { url: "https://github.com/acme/demo" } },
    { secrets: { githubToken: "SECRET-GITHUB-TOKEN" } },
    [
      "gitops:githubToken: (value hidden) — is only used to add the generated deploy key to an ssh://git@github.com repository; git.url is https:// (its token is gitToken)",
    ],
  ],
  [
    "a GitHub token for a repository on another host",
    {
      git: {
        url: "ssh://git@gitlab.example.com/acme/demo.git",
        knownHosts: "gitlab.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
      },
    },
    { secrets: { githubToken: "SECRET-GITHUB-TOKEN" } },
    [
      "gitops:githubToken: (value hidden) — is only used to add the generated deploy key to an ssh://git@github.com repository; git.url's host is gitlab.example.com",
    ],
  ],
  [
    "a GitHub token together with the user's own SSH key",
    { git: { url: "ssh://git@github.com/acme/demo.git" } },
    { secrets: { githubToken: "SECRET-GITHUB-TOKEN", gitSshPrivateKey: "SECRET-SSH-KEY" } },
    [
      "gitops:githubToken: (value hidden) — is only used to add the generated deploy key to an ssh://git@github.com repository; gitSshPrivateKey is set, so the stack generates no deploy key",
    ],
  ],
  [
    "a GitHub token for a path that is not owner/repository",
    { git: { url: "ssh://git@github.com/acme/group/demo.git" } },
    { secrets: { githubToken: "SECRET-GITHUB-TOKEN" } },
    [
      'gitops:git.url: "ssh://git@github.com/acme/group/demo.git" — must be ssh://git@github.com/<owner>/<repository>(.git) to add the deploy key with a GitHub token',
    ],
  ],
  [
    "an existing cluster given both a kubeconfig file and the secret kubeconfig",
    { cluster: { kind: "existing", kubeconfigPath: "./test/fixtures/kubeconfig-existing.yaml", context: "team-cluster" } },
    { secrets: { kubeconfig: "apiVersion: v1 # SECRET-KUBECONFIG" } },
    [
      'gitops:cluster.kubeconfigPath: "./test/fixtures/kubeconfig-existing.yaml" — must not be set together with the secret gitops:kubeconfig: choose one',
    ],
  ],
  [
    "a secret kubeconfig for a kind cluster the stack creates",
    {},
    { secrets: { kubeconfig: "apiVersion: v1 # SECRET-KUBECONFIG" } },
    ["gitops:kubeconfig: (value hidden) — is only used with cluster.kind: existing"],
  ],
];

describe("rejected settings", () => {
  for (const [what, config, expected] of rejected) {
    it(`rejects ${what}`, () => {
      assert.deepEqual(problemsOf(config), [expected]);
    });
  }

  it("rejects a default cluster name derived from a stack name kind cannot use", () => {
    assert.deepEqual(problemsOf({}, { stack: "QA" }), [
      `gitops:cluster.name: "gitops-QA" (from the stack name "QA") — must be a kind cluster name: lower-case letters, digits, '.' and '-', starting with a letter or digit; set cluster.name`,
      `stack name "QA" — names the environment's ImagePolicy server-QA (and its stack file's setter marker), which Kubernetes refuses: use a stack name of lower-case letters, digits, '-' and '.'`,
    ]);
  });

  it("reports malformed shapes as problems, never as a crash", () => {
    const malformed: Record<string, unknown>[] = [
      { imagePolicy: { filterTags: {} } },
      { imagePolicy: { filterTags: "x" } },
      { imagePolicy: { policy: null } },
      { imagePolicy: { filterTags: null, policy: { numerical: { order: "asc" } } } },
      { imagePolicy: { policy: { semver: null } } },
      { cluster: { extraPortMappings: [null, "x"] } },
      { cluster: { kind: "existing", kubeconfigPath: 5, context: [] } },
      { namespaces: { flux: 5, server: 5 } },
      { server: { resources: null } },
      { server: { resources: { requests: null } } },
      { server: { resources: { requests: { cpu: "lots" }, limits: { cpu: null } } } },
      { git: { url: 42, imageUpdates: { enabled: true } } },
      { git: { url: "ssh://git@gitlab.example.com/acme/demo.git", knownHosts: 1, imageUpdates: null } },
    ];
    for (const config of malformed) {
      const problems = problemsOf(config);
      assert.ok(problems.length > 0 && problems.every((problem) => problem.startsWith("gitops:")), JSON.stringify(config));
    }
  });
});

describe("secret settings", () => {
  for (const [what, config, secrets, expected] of rejectedSecrets) {
    it(`rejects ${what}`, () => {
      assert.deepEqual(problemsOf(config, {}, secrets), expected);
    });
  }

  it("never shows a secret's value in a rejection", () => {
    for (const [what, config, secrets] of rejectedSecrets) {
      const error = rejectionOf(config, {}, secrets);
      for (const value of Object.values(secrets.secrets ?? {}).filter((value) => value.trim() !== "")) {
        assert.ok(
          !error.message.includes(value) && error.problems.every((problem) => !problem.includes(value)),
          `${what}: ${error.message}`,
        );
      }
    }
  });

  it("takes an encrypted token for an https:// repository and keeps it a Pulumi secret", async () => {
    const { git } = settingsFor(
      { git: { url: "https://github.com/acme/demo", imageUpdates: { enabled: true } } },
      {},
      { secrets: { gitToken: "TOKEN" } },
    );
    assert.ok(git.mode === "https" && git.token !== undefined);
    assert.equal(await pulumi.isSecret(git.token), true);
    assert.equal(await settle(git.token), "TOKEN");
  });

  it("uses a supplied SSH private key instead of generating one, and keeps it a Pulumi secret", async () => {
    const { git } = settingsFor(
      { git: { url: "ssh://git@github.com/acme/demo.git" } },
      {},
      { secrets: { gitSshPrivateKey: "PRIVATE KEY" } },
    );
    assert.ok(git.mode === "ssh" && git.key.kind === "supplied");
    assert.equal(await pulumi.isSecret(git.key.privateKey), true);
    assert.equal(await settle(git.key.privateKey), "PRIVATE KEY");
  });
});

describe("a rejected configuration under the engine", () => {
  it("registers nothing, and fails with the same problems", async () => {
    const cases: [string, Record<string, unknown>, Secrets, string[]][] = [
      ...rejected.map(([what, config, expected]): [string, Record<string, unknown>, Secrets, string[]] => [
        what,
        config,
        {},
        [expected.replace("Pulumi.qa.yaml", "Pulumi.dev.yaml")],
      ]),
      ...rejectedSecrets,
    ];
    for (const [what, config, secrets, expected] of cases) {
      const raw = rawSettings(config, secrets);
      const overrides = Object.fromEntries(Object.entries(raw.config).map(([key, value]) => [key.slice("gitops:".length), value]));
      const evaluation = await evaluate("dev", { overrides, secretKeys: raw.secretKeys });
      assert.ok(evaluation.error instanceof ConfigurationError, `${what}: ${String(evaluation.error)}`);
      for (const problem of expected) assert.ok(evaluation.error.problems.includes(problem), `${what}: ${evaluation.error.message}`);
      assert.deepEqual(evaluation.registrations, [], what);
    }
  });
});
