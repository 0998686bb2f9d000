// Every value checked against the rule of the system that finally consumes it (kind, Docker,
// Linux, the API server, Flux's CRDs, Masterminds semver, git, OpenSSH, Prometheus, Helm),
// before anything is registered; no credential ever shown. Every problem listed at once, and
// any value taken without a crash: settingsProblems.test.ts.
import assert from "node:assert/strict";
import * as path from "node:path";
import { describe, it } from "node:test";
import { githubKnownHosts, projectRoot, type ConfigurationError } from "../infra/settings/index.ts";
import { branchProblem, knownHostsProblems } from "../infra/settings/gitRules.ts";
import { mastermindsRangeValid } from "../infra/settings/imagePolicy.ts";
import { kubeconfigFixture, problemsOf, settingsOf } from "./support/settingsRules.ts";

describe("names", () => {
  it("cluster names as kind, Docker and Linux take them: a leading letter or digit, a node host name within 63 characters, no '..'", () => {
    const cases: [string, boolean][] = [
      ["gitops-dev", true],
      ["a.b", true],
      ["-dev", false],
      [".dev", false],
      ["dev..x", false],
      ["dev.-x", false],
      ["d".repeat(49), true],
      ["d".repeat(50), false],
    ];
    for (const [name, ok] of cases) {
      const problems = (() => {
        try {
          settingsOf({ cluster: { name } });
          return [];
        } catch (error) {
          return (error as ConfigurationError).problems;
        }
      })();
      assert.equal(problems.length === 0, ok, `${name}: ${problems.join("; ")}`);
    }
    assert.match(
      problemsOf({ cluster: { name: "d".repeat(50) } })[0]!,
      /at most 49 characters .* its nodes are named d{50}-control-plane, which must be a host name$/,
    );
  });

  it("says when a refused name came from the stack name, and how to choose another", () => {
    assert.deepEqual(problemsOf({}, { stack: "Dev" }), [
      `gitops:cluster.name: "gitops-Dev" (from the stack name "Dev") — must be a kind cluster name: lower-case letters, digits, '.' and '-', starting with a letter or digit; set cluster.name`,
      `stack name "Dev" — names the environment's ImagePolicy server-Dev (and its stack file's setter marker), which Kubernetes refuses: use a stack name of lower-case letters, digits, '-' and '.'`,
    ]);
    // With a name of its own, only the ImagePolicy name is left to refuse.
    assert.deepEqual(problemsOf({ cluster: { name: "team-dev" } }, { stack: "Dev" }).length, 1);
  });

  it("refuses the namespaces every cluster already has", () => {
    for (const namespace of ["default", "kube-system", "kube-public", "kube-node-lease"]) {
      assert.deepEqual(problemsOf({ namespaces: { server: namespace } }), [
        `gitops:namespaces.server: "${namespace}" — must be a namespace of its own: default, kube-system, kube-public, kube-node-lease exist in every cluster (the stack would own, and on destroy delete, it)`,
      ]);
    }
  });
});

describe("durations, as the field they end up in takes them", () => {
  const duration = (config: Record<string, unknown>) => problemsOf(config)[0];

  it("Flux intervals: ms, s, m and h, longer than zero (no days, no bare numbers)", () => {
    assert.equal(
      duration({ git: { interval: "1d" } }),
      'gitops:git.interval: "1d" — must be a duration such as 1m or 5m (units ms, s, m, h)',
    );
    assert.equal(
      duration({ git: { interval: "0s" } }),
      'gitops:git.interval: "0s" — must be a duration such as 1m or 5m (units ms, s, m, h), longer than zero',
    );
    assert.equal(
      duration({ imagePolicy: { scanInterval: "30" } }),
      'gitops:imagePolicy.scanInterval: "30" — must be a duration such as 1m or 5m (units ms, s, m, h)',
    );
    assert.equal(
      duration({ git: { imageUpdates: { interval: "5us" } } }),
      'gitops:git.imageUpdates.interval: "5us" — must be a duration such as 1m or 5m (units ms, s, m, h)',
    );
    assert.equal(settingsOf({ git: { healthTimeout: "1h30m" } }).git.mode, "off");
  });

  it("the Git timeout takes no hours (GitRepository spec.timeout)", () => {
    assert.equal(
      duration({ git: { timeout: "1h" } }),
      'gitops:git.timeout: "1h" — must be a duration such as 20s or 1m (units ms, s, m: this field takes no hours)',
    );
    assert.doesNotThrow(() => settingsOf({ git: { timeout: "90s" } }));
  });

  it("kind's wait is a Go duration longer than zero", () => {
    assert.equal(
      duration({ cluster: { waitTimeout: "0m" } }),
      'gitops:cluster.waitTimeout: "0m" — must be a duration such as 90s or 5m, longer than zero',
    );
  });

  it("Prometheus retention: units largest first, each once, longer than zero", () => {
    assert.deepEqual(settingsOf({ prometheus: { retention: "1w2d" } }).prometheus.retention, "1w2d");
    for (const retention of ["2d1w", "1d1d", "1.5d", "0", "0d"])
      assert.equal(problemsOf({ prometheus: { retention } }).length, 1, retention);
  });
});

describe("quantities", () => {
  it("warns (does not refuse) when the server's requests are more than a laptop's kind node holds", () => {
    const settings = settingsOf({ server: { replicas: 3, resources: { requests: { cpu: 4, memory: "64Mi" }, limits: { cpu: 4 } } } });
    assert.deepEqual(settings.warnings, [
      "server.resources.requests: 3 × 4 CPU is more than a laptop's kind node holds (8 CPU, 16Gi): the pods would stay Pending there",
    ]);
  });
});

describe("versions and Git", () => {
  it("reads semver ranges as Flux does (Masterminds/semver): '>=1.0.0 ||' is an error there, '!=1.0.0' is not", () => {
    assert.equal(mastermindsRangeValid(">=1.0.0 ||"), false);
    assert.equal(mastermindsRangeValid("!=1.0.0"), true);
    assert.equal(mastermindsRangeValid("1.2 - 1.4.5"), true);
    assert.equal(mastermindsRangeValid("12.3.4.1234"), false);
    assert.deepEqual(problemsOf({ imagePolicy: { policy: { semver: { range: ">=1.0.0 ||" } } } }).length, 1);
    assert.deepEqual(settingsOf({ imagePolicy: { policy: { semver: { range: "!=1.0.0" } } } }).imagePolicy.policy, {
      semver: { range: "!=1.0.0" },
    });
  });

  it("checks branches as git check-ref-format --branch does", () => {
    for (const bad of [
      "-main",
      "HEAD",
      "@",
      "a..b",
      "a b",
      "a~1",
      "a^",
      "a:b",
      "a?",
      "a*",
      "a[b",
      "a\\b",
      "a@{1}",
      "/a",
      "a/",
      "a//b",
      "a.",
      ".a",
      "a/.b",
      "a.lock",
      "a.lock/b",
    ]) {
      assert.ok(branchProblem(bad), bad);
    }
    for (const good of ["main", "release/1.2", "feature/a.b", "v1.0-rc1", "2024"]) assert.equal(branchProblem(good), undefined, good);
  });

  it("takes a branch Pulumi stores as a number (branch: 2024)", () => {
    const settings = settingsOf({ git: { url: "https://github.com/acme/demo", branch: 2024 } });
    assert.ok(settings.git.mode === "https");
    assert.equal(settings.git.branch, "2024");
  });

  it("parses known_hosts lines: key types, keys, and a line for the repository's host (and port)", () => {
    const [, type, key] = githubKnownHosts.split("\n")[0]!.split(" ");
    assert.deepEqual(knownHostsProblems(`[git.example.com]:2222 ${type} ${key}`, "git.example.com", 2222), []);
    assert.deepEqual(knownHostsProblems(`git.example.com ${type} ${key}`, "git.example.com", 2222), [
      "no line is for [git.example.com]:2222 (ssh-keyscan -p 2222 git.example.com)",
    ]);
    assert.deepEqual(knownHostsProblems(`*.example.com ${type} ${key}`, "git.example.com"), []);
    assert.deepEqual(knownHostsProblems(`git.example.com ssh-rsa ${key}`, "git.example.com"), ["line 1: the key is not a ssh-rsa key"]);
    assert.deepEqual(knownHostsProblems("git.example.com ssh-ed25519", "git.example.com"), [
      'line 1: must be "host keytype key", as ssh-keyscan prints it',
    ]);
    assert.deepEqual(knownHostsProblems(`git.example.com ssh-foo ${key}`, "git.example.com"), ["line 1: unknown key type ssh-foo"]);
  });

  it("refuses an empty Git path, and warns when the synced folder is not in this checkout", () => {
    assert.equal(problemsOf({ git: { path: "" } }).length, 1);
    const settings = settingsOf({ git: { url: "https://github.com/acme/demo", path: "./no/such/apps" } }, { root: projectRoot });
    assert.deepEqual(settings.warnings, [
      "git.path ./no/such/apps does not exist in this checkout: Flux will apply nothing until it is in https://github.com/acme/demo (commit a kustomization.yaml there)",
    ]);
  });
});

describe("credentials", () => {
  it("refuses credentials written into a URL, without showing them, naming the right way", () => {
    assert.deepEqual(problemsOf({ git: { url: "https://bot:ghp_SECRET@github.com/acme/demo" } }), [
      "gitops:git.url: (value hidden) — must not carry credentials: store the token encrypted (pulumi config set --secret gitToken <token>, with git.username if not git)",
    ]);
    assert.deepEqual(problemsOf({ git: { url: "ssh://git:p4ss@github.com/acme/demo.git" } }), [
      "gitops:git.url: (value hidden) — must not carry a password: SSH uses a key (the generated deploy key, or pulumi config set --secret gitSshPrivateKey < key)",
    ]);
    assert.deepEqual(problemsOf({ prometheus: { repository: "https://user:s3cret@charts.example.com" } }), [
      "gitops:prometheus.repository: (value hidden) — must not carry credentials: the charts are public",
    ]);
    // Refused for another reason, a URL's credentials are still hidden.
    const [problem] = problemsOf({ prometheus: { repository: "http://user:s3cret@charts.example.com" } });
    assert.equal(
      problem,
      'gitops:prometheus.repository: "http://(credentials hidden)@charts.example.com" — must be an https:// Helm repository URL',
    );
  });

  it("never shows the value under an unknown or misspelt key", () => {
    const problems = problemsOf({ git: { url: "https://github.com/acme/demo", tokn: "ghp_SECRET" }, gitTokn: "ghp_SECRET" });
    assert.ok(
      problems.length === 2 && problems.every((problem) => problem.includes("(value not shown)") && !problem.includes("SECRET")),
      problems.join("\n"),
    );
  });

  it("never shows a value of a section stored encrypted as a whole", () => {
    const problems = problemsOf(
      {},
      { secretKeys: ["gitops:git"] },
      { "gitops:git": JSON.stringify({ url: "https://github.com/acme/demo", branch: "a..b" }) },
    );
    assert.deepEqual(problems, ["gitops:git.branch: (value hidden) — must be a branch name git accepts: no '..'"]);
  });
});

describe("an existing cluster's kubeconfig", () => {
  const existing = (file: string, context: string) => ({ cluster: { kind: "existing", kubeconfigPath: "team.yaml", context } });
  const reading = (text: string) => ({ readFile: () => text });

  it("must be a kubeconfig with the named context, said before anything runs, never quoting the file", () => {
    assert.deepEqual(problemsOf(existing("team.yaml", "prod"), reading(kubeconfigFixture)), [
      `gitops:cluster.kubeconfigPath: "team.yaml" — cluster.context "prod" is not among its contexts (team-cluster) (${path.join(projectRoot, "team.yaml")})`,
    ]);
    assert.deepEqual(problemsOf(existing("team.yaml", "team"), reading("token: not-a-real-token\n")), [
      `gitops:cluster.kubeconfigPath: "team.yaml" — must be a kubeconfig (YAML with clusters, users and contexts), as kind get kubeconfig or a cloud's CLI writes it (${path.join(projectRoot, "team.yaml")})`,
    ]);
  });
});

describe("what Pulumi accepts", () => {
  it("takes the same host port for TCP and UDP, and on two addresses", () => {
    const mappings = [
      { containerPort: 53, hostPort: 5353, protocol: "TCP" },
      { containerPort: 53, hostPort: 5353, protocol: "UDP" },
      { containerPort: 80, hostPort: 8080, listenAddress: "127.0.0.1" },
      { containerPort: 81, hostPort: 8080, listenAddress: "127.0.0.2" },
    ];
    assert.equal(settingsOf({ cluster: { extraPortMappings: mappings } }).cluster.kind, "kind");
    assert.equal(problemsOf({ cluster: { extraPortMappings: [mappings[2], { ...mappings[3], listenAddress: "0.0.0.0" }] } }).length, 1);
  });
});
