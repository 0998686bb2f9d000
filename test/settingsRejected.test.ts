// Settings the program refuses, each with its exact message (`key: value — what is allowed`), and
// that nothing is registered when it does; the secret settings, which are never shown. The cases
// are in test/fixtures/cases/settingsRejected.yaml and settingsRejectedSecrets.yaml.
import assert from "node:assert/strict";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { ConfigurationError, defaultNodeImage, projectRoot, type SecretSetting } from "../infra/settings/index.ts";
import { evaluate, settle } from "./helpers.ts";
import { readCases } from "./support/cases.ts";
import { problemsOf, rawSettings, rejectionOf, settingsFor, type Secrets } from "./support/settings.ts";

/** A rejected setting: what is set, and the one problem reported. */
interface RejectedSetting {
  readonly what: string;
  readonly settings: Record<string, unknown>;
  readonly problem: string;
}

/** Rejected secret settings: what is set, which secrets (encrypted unless plaintext), the problems. */
interface RejectedSecret {
  readonly what: string;
  readonly settings: Record<string, unknown>;
  readonly secrets?: Partial<Record<SecretSetting, string>>;
  readonly plaintext?: SecretSetting[];
  readonly problems: string[];
}

const digest = "sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5";

/** The rejected settings whose value or problem comes from the program, or is too long to write out. */
const rejectedHere: RejectedSetting[] = [
  {
    what: "a node image without a digest",
    settings: { cluster: { nodeImage: "kindest/node:v1.36.1" } },
    problem: `gitops:cluster.nodeImage: "kindest/node:v1.36.1" — must be pinned by tag and digest, like ${defaultNodeImage}`,
  },
  {
    what: "a node image too old for Flux",
    settings: { cluster: { nodeImage: `kindest/node:v1.31.4@${digest}` } },
    problem: `gitops:cluster.nodeImage: "kindest/node:v1.31.4@${digest}" — must be Kubernetes v1.33 or newer (Flux 2.8 needs it), like ${defaultNodeImage}`,
  },
  {
    what: "a namespace name longer than a DNS label",
    settings: { namespaces: { server: "s".repeat(64) } },
    problem: `gitops:namespaces.server: "${"s".repeat(64)}" — must be a namespace name (DNS label: a-z, 0-9, '-', at most 63)`,
  },
  {
    what: "an existing cluster's kubeconfig file that cannot be read",
    settings: { cluster: { kind: "existing", kubeconfigPath: "./no/such/kubeconfig", context: "team" } },
    problem: `gitops:cluster.kubeconfigPath: "./no/such/kubeconfig" — must be a readable, non-empty kubeconfig file (${path.join(projectRoot, "no/such/kubeconfig")})`,
  },
];

const rejected = [...readCases<RejectedSetting>("settingsRejected.yaml"), ...rejectedHere];
const rejectedSecrets = readCases<RejectedSecret>("settingsRejectedSecrets.yaml");
const secretsOf = ({ secrets, plaintext }: RejectedSecret): Secrets => ({ secrets, plaintext });

describe("rejected settings", () => {
  for (const { what, settings, problem } of rejected) {
    it(`rejects ${what}`, () => {
      assert.deepEqual(problemsOf(settings), [problem]);
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
  for (const rejectedSecret of rejectedSecrets) {
    const { what, settings, problems } = rejectedSecret;
    it(`rejects ${what}`, () => {
      assert.deepEqual(problemsOf(settings, {}, secretsOf(rejectedSecret)), problems);
    });
  }

  it("never shows a secret's value in a rejection", () => {
    for (const rejectedSecret of rejectedSecrets) {
      const { what, settings } = rejectedSecret;
      const secrets = secretsOf(rejectedSecret);
      const error = rejectionOf(settings, {}, secrets);
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
      ...rejected.map(({ what, settings, problem }): [string, Record<string, unknown>, Secrets, string[]] => [
        what,
        settings,
        {},
        [problem.replace("Pulumi.qa.yaml", "Pulumi.dev.yaml")],
      ]),
      ...rejectedSecrets.map((rejectedSecret): [string, Record<string, unknown>, Secrets, string[]] => [
        rejectedSecret.what,
        rejectedSecret.settings,
        secretsOf(rejectedSecret),
        rejectedSecret.problems,
      ]),
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
