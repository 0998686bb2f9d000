// A stack's settings: parsed once into what the program uses: defaults, unions, secrets kept
// secret, a flux-values.yaml left from the flux2 chart refused. Git sync's settings are in settingsGitSync.test.ts; what is
// rejected, and how, is in settingsRejected.test.ts.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { ConfigurationError, defaultNodeImage, projectRoot, settingsWithStackFiles } from "../infra/settings/index.ts";
import { loadStackConfig } from "../tools/offline/stackConfig.ts";
import { settle, shippedStacks } from "./helpers.ts";
import { problemsOf, rejectionOf, settingsFor, type Secrets } from "./support/settings.ts";

const fluxValuesPath = "stacks/qa/flux-values.yaml";

describe("a stack that sets nothing", () => {
  it("gets a kind cluster named after the stack, and every other default, with Git sync off", () => {
    const { flux, ...settings } = settingsFor({});
    assert.deepEqual(settings, {
      stack: "qa",
      cluster: {
        kind: "kind",
        name: "gitops-qa",
        nodeImage: defaultNodeImage,
        workers: 0,
        waitTimeout: "5m",
        extraPortMappings: [],
        mirrors: true,
        kubeconfigFile: path.join(".kube", "gitops-qa.yaml"),
      },
      namespaces: { flux: "flux-system", server: "server", monitoring: "monitoring" },
      server: {
        image: "ricoberger/gitops-using-flux:1.0.0",
        replicas: 1,
        logLevel: "info",
        resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "100m", memory: "128Mi" } },
      },
      prometheus: {
        chartVersion: "88.5.3",
        repository: "https://prometheus-community.github.io/helm-charts",
        retention: "1d",
        replicas: 1,
        enableAdminAPI: true,
        readyTimeoutSeconds: 900,
      },
      imagePolicy: {
        scanInterval: "5m",
        filterTags: { pattern: "^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)$" },
        policy: { semver: { range: ">=1.0.0" } },
      },
      git: { mode: "off" },
      warnings: [],
    });
    assert.deepEqual(flux, { version: "2.9.4", operatorVersion: "0.58.1", logLevel: "info", keepCrds: false, timeoutSeconds: 900 });
  });
});

describe("accepted settings", () => {
  for (const stack of shippedStacks) {
    it(`accepts the shipped Pulumi.${stack}.yaml with its flux-values.yaml, without warnings`, () => {
      const settings = settingsWithStackFiles(loadStackConfig(stack));
      assert.equal(settings.cluster.kind, "kind");
      assert.deepEqual(settings.warnings, []);
    });
  }

  it("merges a partial section over the defaults instead of replacing it", () => {
    const settings = settingsFor({ cluster: { workers: 3 }, namespaces: { server: "demo" } });
    assert.equal(settings.cluster.kind === "kind" && settings.cluster.name, "gitops-qa");
    assert.deepEqual(settings.namespaces, { flux: "flux-system", server: "demo", monitoring: "monitoring" });
  });

  it("fills port mapping defaults: loopback only, TCP", () => {
    const { cluster } = settingsFor({ cluster: { extraPortMappings: [{ containerPort: 30080, hostPort: 8080 }] } });
    assert.equal(cluster.kind, "kind");
    assert.deepEqual(cluster.extraPortMappings, [{ containerPort: 30080, hostPort: 8080, listenAddress: "127.0.0.1", protocol: "TCP" }]);
  });

  it("accepts what Flux accepts: comma-separated semver ranges, ${name} and numbered groups of the pattern", () => {
    const filterTags = { pattern: "^v(\\d+)-(?P<ts>\\d+)$", extract: "${ts}-$1" };
    assert.doesNotThrow(() => settingsFor({ imagePolicy: { filterTags, policy: { semver: { range: ">=1.0, <2.0" } } } }));
    // The same pattern has two groups: a third is refused.
    assert.deepEqual(problemsOf({ imagePolicy: { filterTags: { ...filterTags, extract: "$3" } } }), [
      'gitops:imagePolicy.filterTags.extract: "$3" — must name a group of the pattern: it has no group "3"',
    ]);
  });

  it("compares resource quantities across units (0.5 CPU is 500m, 1Gi is 1024Mi)", () => {
    assert.doesNotThrow(() =>
      settingsFor({ server: { resources: { requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: "0.5", memory: "1024Mi" } } } }),
    );
    assert.deepEqual(problemsOf({ server: { resources: { requests: { cpu: "0.6" }, limits: { cpu: "500m" } } } }), [
      'gitops:server.resources.requests.cpu: "0.6" — must not exceed limits.cpu (500m)',
    ]);
  });

  it("takes quantities written as YAML numbers, as Kubernetes does, and passes them on as text", () => {
    const { resources } = settingsFor({ server: { resources: { requests: { cpu: 0.5 }, limits: { cpu: 1 } } } }).server;
    assert.deepEqual([resources.requests.cpu, resources.limits.cpu], ["0.5", "1"]);
  });
});

describe("an existing cluster", () => {
  const home = (file: string) => path.join(os.homedir(), file);
  // A kubeconfig whose one context is "team" (test/fixtures/kubeconfig-existing.yaml, renamed).
  const teamKubeconfig = fs
    .readFileSync(path.join(projectRoot, "test/fixtures/kubeconfig-existing.yaml"), "utf8")
    .replaceAll("team-cluster", "team");

  it("reads its kubeconfig file, with ~ as the home directory, and keeps the contents a Pulumi secret", async () => {
    const { cluster } = settingsFor(
      { cluster: { kind: "existing", kubeconfigPath: "~/.kube/team", context: "team" } },
      { readFile: (file) => (file === home(".kube/team") ? teamKubeconfig : undefined) },
    );
    assert.ok(cluster.kind === "existing");
    assert.deepEqual([cluster.kubeconfigPath, cluster.context], [home(".kube/team"), "team"]);
    assert.equal(await pulumi.isSecret(cluster.kubeconfig), true);
    assert.equal(await settle(cluster.kubeconfig), teamKubeconfig);
  });

  it("finds a relative kubeconfig path in the project folder it is given", () => {
    const root = path.join(os.tmpdir(), "elsewhere");
    const { cluster } = settingsFor(
      { cluster: { kind: "existing", kubeconfigPath: "kube/team.yaml", context: "team" } },
      { root, readFile: (file) => (file === path.join(root, "kube/team.yaml") ? teamKubeconfig : undefined) },
    );
    assert.equal(cluster.kind === "existing" && cluster.kubeconfigPath, path.join(root, "kube/team.yaml"));
  });

  it("uses the secret kubeconfig, with the context named or else its current one", async () => {
    const kubeconfig = fs
      .readFileSync(path.join(projectRoot, "test/fixtures/kubeconfig-existing.yaml"), "utf8")
      .replaceAll("team-cluster", "team");
    const secrets: Secrets = { secrets: { kubeconfig } };
    const named = settingsFor({ cluster: { kind: "existing", context: "team" } }, {}, secrets).cluster;
    const current = settingsFor({ cluster: { kind: "existing" } }, {}, secrets).cluster;
    assert.ok(named.kind === "existing" && current.kind === "existing");
    assert.deepEqual(
      [named.context, named.kubeconfigPath, current.context, current.kubeconfigPath],
      ["team", undefined, undefined, undefined],
    );
    assert.equal(await pulumi.isSecret(current.kubeconfig), true);
    assert.equal(await settle(current.kubeconfig), kubeconfig);
  });
});

describe("problems", () => {
  it("reports every problem at once, across sections, files and secrets", () => {
    const problems = problemsOf(
      { cluster: { workers: -1, name: "UPPER" }, flux: { version: "2.x" } },
      { fluxValuesFile: { path: fluxValuesPath, text: "logLevel: debug\n" } },
      { secrets: { gitToken: "ghp_plaintext_token" }, plaintext: ["gitToken"] },
    );
    assert.equal(problems.length, 5, problems.join("\n"));
    assert.deepEqual(
      problems.filter((problem) => !problem.startsWith(`${fluxValuesPath}:`)),
      [
        `gitops:cluster.name: "UPPER" — must be a kind cluster name: lower-case letters, digits, '.' and '-', starting with a letter or digit`,
        "gitops:cluster.workers: -1 — must be a whole number from 0 to 10",
        'gitops:flux.version: "2.x" — must be an exact Flux version such as 2.9.4 (no ranges: it is pinned)',
        "gitops:gitToken: (value hidden) — must be stored encrypted, it is a token (the password of git.username) for https:// repositories: pulumi config set --secret gitToken <value>",
      ],
    );
  });

  it("says how many problems there are and lists each on its own line", () => {
    assert.equal(
      rejectionOf({ cluster: { workers: -1 }, flux: { timeoutSeconds: 1 } }).message,
      'Invalid configuration for stack "qa" (2 problems):\n' +
        "  - gitops:cluster.workers: -1 — must be a whole number from 0 to 10\n" +
        "  - gitops:flux.timeoutSeconds: 1 — must be a whole number from 600 to 3600",
    );
    assert.equal(
      rejectionOf({ server: { replicas: 0 } }).message,
      'Invalid configuration for stack "qa" (1 problem):\n  - gitops:server.replicas: 0 — must be a whole number from 1 to 50',
    );
  });

  it("cuts a long value short in a message", () => {
    const [problem] = problemsOf({ server: { image: `registry.example.com/${"a".repeat(300)}` } });
    assert.match(problem!, /^gitops:server\.image: "registry\.example\.com\/a+\.\.\. — must be an image reference with a tag/);
    assert.equal(problem!.split(" — ")[0]!.length, "gitops:server.image: ".length + 200);
  });
});

describe("a flux-values.yaml left from the flux2 chart", () => {
  it("is refused with where its settings went, whatever it holds: the values would otherwise be dropped silently", () => {
    for (const text of ["logLevel: debug\n", "# nothing\n", "logLevel: [unclosed\n"]) {
      assert.deepEqual(problemsOf({}, { fluxValuesFile: { path: fluxValuesPath, text } }), [
        "stacks/qa/flux-values.yaml: flux2 chart values are no longer read — Flux Operator installs Flux now: set flux.logLevel " +
          "(was logLevel) or flux.keepCrds: true (was crds.annotations helm.sh/resource-policy: keep) in Pulumi.qa.yaml, " +
          "then delete the file (docs/settings.md#flux)",
      ]);
    }
  });

  it("is looked for in stacks/<stack>/ of the project folder it is given", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "gitops-settings-"));
    try {
      assert.equal(settingsWithStackFiles({ stack: "qa", project: "gitops", config: {} }, root).flux.logLevel, "info");
      fs.mkdirSync(path.join(root, "stacks", "qa"), { recursive: true });
      fs.writeFileSync(path.join(root, fluxValuesPath), "logLevel: debug\n");
      assert.throws(() => settingsWithStackFiles({ stack: "qa", project: "gitops", config: {} }, root), ConfigurationError);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("the Flux settings", () => {
  it("take the log level and CRD policy a stack sets, and refuse others", () => {
    assert.deepEqual(settingsFor({ flux: { logLevel: "debug", keepCrds: true } }).flux, {
      version: "2.9.4",
      operatorVersion: "0.58.1",
      logLevel: "debug",
      keepCrds: true,
      timeoutSeconds: 900,
    });
    assert.deepEqual(problemsOf({ flux: { logLevel: "trace", keepCrds: "yes", operatorVersion: "0.58" } }), [
      'gitops:flux.operatorVersion: "0.58" — must be an exact Flux Operator version such as 0.58.1 (no ranges: it is pinned)',
      'gitops:flux.logLevel: "trace" — must be one of info, debug, error',
      'gitops:flux.keepCrds: "yes" — must be true or false',
    ]);
  });
});

describe("the registry's hint", () => {
  it("suggests, for an image elsewhere, a tag the environment's policy takes: a master build with its build time for dev's", () => {
    const policy = {
      filterTags: { pattern: "^master-[a-f0-9]+-(?P<ts>[0-9]+)$", extract: "$ts" },
      policy: { numerical: { order: "asc" } },
    };
    const { warnings } = settingsFor({
      cluster: { registry: { enabled: true } },
      server: { image: "ricoberger/gitops-using-flux:master-84e319d" },
      imagePolicy: policy,
    });
    assert.ok(
      warnings.includes(
        "cluster.registry is on, but server.image ricoberger/gitops-using-flux:master-84e319d is not on it: to have the nodes, Flux and npm run release share it, use gitops-qa-registry:5000/ricoberger/gitops-using-flux:master-84e319d-1580380800",
      ),
      warnings.join("\n"),
    );
  });
});
