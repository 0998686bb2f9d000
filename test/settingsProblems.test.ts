// Every problem of a configuration listed at once, cross-field problems with field problems, and
// any value in any setting taken or refused with problems, never a crash. Each rule itself is in
// settingsRules.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigurationError, parseSettings, settingsSchema } from "../infra/settings/index.ts";
import { kubeconfigFixture, problemsOf, raw, settingsOf } from "./support/settingsRules.ts";

describe("all problems at once", () => {
  it("lists cross-field problems (a missing kubeconfig, a duplicate host port) together with field problems", () => {
    const problems = problemsOf({
      cluster: { kind: "existing" },
      server: { replicas: 0 },
      git: { url: "https://github.com/acme/demo", imageUpdates: { enabled: true } },
    });
    assert.deepEqual(problems, [
      "gitops:server.replicas: 0 — must be a whole number from 1 to 50",
      "gitops:cluster.kubeconfigPath: (missing) — must be set (or the secret gitops:kubeconfig: pulumi config set --secret kubeconfig < file) when cluster.kind is existing",
      "gitops:gitToken: (missing) — must be set when git.imageUpdates.enabled over https://: Flux pushes commits (pulumi config set --secret gitToken <token>)",
    ]);
  });

  it("refuses kind-only settings on an existing cluster", () => {
    assert.deepEqual(
      problemsOf(
        { cluster: { kind: "existing", kubeconfigPath: "team.yaml", context: "team-cluster", workers: 2, name: "x" } },
        { readFile: () => kubeconfigFixture },
      ),
      [
        'gitops:cluster.name: "x" — is only used with cluster.kind: kind (this stack deploys into an existing cluster)',
        "gitops:cluster.workers: 2 — is only used with cluster.kind: kind (this stack deploys into an existing cluster)",
      ],
    );
  });

  describe("the local registry", () => {
    it("is off unless enabled; on, it is <name>-registry:5000 for images, on 127.0.0.1:5001 for pushes", () => {
      const off = settingsOf({});
      assert.equal(off.cluster.kind === "kind" && off.cluster.registry, undefined);
      const on = settingsOf({ cluster: { name: "gitops-qa", registry: { enabled: true } } });
      assert.deepEqual(on.cluster.kind === "kind" && on.cluster.registry, {
        containerName: "gitops-qa-registry",
        host: "gitops-qa-registry:5000",
        hostPort: 5001,
      });
    });

    it("refuses a port below 1024, one a port mapping takes, and the registry on an existing cluster", () => {
      assert.deepEqual(problemsOf({ cluster: { registry: { enabled: true, hostPort: 80 } } }), [
        "gitops:cluster.registry.hostPort: 80 — must be a whole number from 1024 to 65535",
      ]);
      assert.deepEqual(
        problemsOf({
          cluster: { registry: { enabled: true }, extraPortMappings: [{ containerPort: 30080, hostPort: 5001 }] },
        }),
        [
          "gitops:cluster.registry.hostPort: 5001 — must differ from the ports of cluster.extraPortMappings: mapping [0] already takes TCP port 5001",
        ],
      );
      assert.deepEqual(
        problemsOf(
          { cluster: { kind: "existing", kubeconfigPath: "team.yaml", context: "team-cluster", registry: { enabled: true } } },
          { readFile: () => kubeconfigFixture },
        ),
        [
          'gitops:cluster.registry: {"enabled":true,"hostPort":5001} — is only used with cluster.kind: kind (this stack deploys into an existing cluster)',
        ],
      );
    });

    it("refuses a server image on the registry while it is off, and warns of a registry the image is not on", () => {
      const image = "gitops-qa-registry:5000/ricoberger/gitops-using-flux:master-84e319d-1580380800";
      assert.deepEqual(problemsOf({ server: { image } }), [
        `gitops:server.image: "${image}" — is on the local registry gitops-qa-registry:5000, which is off: set cluster.registry.enabled: true`,
      ]);
      const warned = settingsOf({ cluster: { registry: { enabled: true } }, server: { image: "ricoberger/gitops-using-flux:1.0.0" } });
      assert.deepEqual(warned.warnings, [
        "cluster.registry is on, but server.image ricoberger/gitops-using-flux:1.0.0 is not on it: to have the nodes, Flux and npm run release share it, use gitops-qa-registry:5000/ricoberger/gitops-using-flux:1.0.0",
      ]);
      const onRegistry = settingsOf({ cluster: { registry: { enabled: true } }, server: { image } });
      assert.deepEqual(onRegistry.warnings, []);
      // Derived once: the image's path and tag in the registry, for the program and npm run release.
      assert.deepEqual(onRegistry.cluster.kind === "kind" && onRegistry.cluster.registry?.serverImage, {
        path: "ricoberger/gitops-using-flux",
        tag: "master-84e319d-1580380800",
      });
    });
  });

  it("refuses keys in a misspelt project namespace, and warns about other unknown namespaces", () => {
    assert.deepEqual(problemsOf({}, {}, { "gitop:server": '{"replicas":3}' }), [
      "gitop:server: (value not shown) — not a setting of this project, whose settings are gitops:<key> (did you mean gitops:server?)",
    ]);
    const settings = settingsOf(
      {},
      {},
      { "aws:region": "eu-west-1", "kubernetes:context": "x", "pulumi:disable-default-providers": '["kubernetes"]' },
    );
    assert.deepEqual(settings.warnings, [
      "aws:region is not read by this program: its settings are gitops:<key> (other namespaces: pulumi, kubernetes, command, tls, github)",
    ]);
  });
});

describe("any value in any setting", () => {
  it("is taken or refused with problems, never a crash (every field of every section, with odd values)", () => {
    const odd: unknown[] = [
      null,
      0,
      -1,
      1.5,
      1e308,
      "",
      " ",
      "x",
      "a".repeat(5000),
      [],
      [null],
      {},
      { a: 1 },
      true,
      "-",
      "..",
      "://",
      "ssh://",
      "https://@",
    ];
    const sections = settingsSchema("qa").shape as Record<string, { unwrap?: () => unknown }>;
    let parses = 0;
    for (const [section, schema] of Object.entries(sections)) {
      // The fields of the section's mapping (under its prefault and description wrappers).
      let inner: unknown = schema;
      while (inner && typeof inner === "object" && !("shape" in inner) && "unwrap" in inner)
        inner = (inner as { unwrap(): unknown }).unwrap();
      const fields = Object.keys((inner as { shape?: object }).shape ?? {});
      assert.ok(fields.length > 0, section);
      for (const field of [...fields, "unknownField"]) {
        for (const value of odd) {
          for (const config of [
            { [section]: { [field]: value } },
            { [section]: { [field]: value, kind: "existing", url: "ssh://git@github.com/a/b" } },
          ]) {
            parses++;
            try {
              parseSettings(raw(config));
            } catch (error) {
              assert.ok(error instanceof ConfigurationError, `${section}.${field} = ${JSON.stringify(value)}: ${String(error)}`);
              assert.ok(
                error.problems.every((problem) => problem.length < 1200),
                `${section}.${field}: a problem too long to read`,
              );
            }
          }
        }
      }
    }
    assert.ok(parses > 1000, String(parses));
  });
});
