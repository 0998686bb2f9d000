// `npm run render`: what the stack applies, from the same program, without a cluster.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as YAML from "yaml";
import { evaluate, only, projectCopy, readYamlDocuments, runCli, shippedStacks } from "./helpers";

type KubernetesObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };
const identity = (object: KubernetesObject) => `${object.apiVersion}/${object.kind} ${object.metadata.namespace ?? ""}/${object.metadata.name}`;

describe("render", () => {
  for (const stack of shippedStacks) {
    it(`${stack}: prints exactly the Kubernetes objects the program registers, namespaces first`, async () => {
      const result = runCli("infra/cli/render.ts", [stack]);
      assert.equal(result.status, 0, result.stderr);
      const printed = readYamlDocuments(result.stdout) as KubernetesObject[];

      // Independently of render's own filter: every registered kubernetes: resource except Helm releases.
      const evaluation = await evaluate(stack);
      const registered = evaluation.registrations
        .filter((r) => r.custom && r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:helm.sh/"))
        .map((r) => r.inputs as KubernetesObject);
      assert.ok(registered.length > 0);
      assert.deepEqual(printed.map(identity).sort(), registered.map(identity).sort());
      for (const object of printed) {
        const twin = registered.find((candidate) => identity(candidate) === identity(object));
        assert.deepEqual(object, twin);
      }
      const firstOther = printed.findIndex((object) => object.kind !== "Namespace");
      assert.ok(firstOther === -1 || printed.slice(firstOther).every((object) => object.kind !== "Namespace"));
    });
  }

  it("writes manifests, the kind cluster config and the Helm releases with --out", async () => {
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), "render-"));
    try {
      const result = runCli("infra/cli/render.ts", ["prod", "--out", outDir]);
      assert.equal(result.status, 0, result.stderr);
      assert.deepEqual(fs.readdirSync(outDir).sort(), ["helm-releases.yaml", "kind-cluster.yaml", "manifests.yaml"]);

      const printed = runCli("infra/cli/render.ts", ["prod"]).stdout;
      assert.equal(fs.readFileSync(path.join(outDir, "manifests.yaml"), "utf8"), printed);

      const evaluation = await evaluate("prod");
      const kind = only(evaluation.registrations, "command:local:Command");
      const kindCluster = readYamlDocuments(fs.readFileSync(path.join(outDir, "kind-cluster.yaml"), "utf8"));
      assert.deepEqual(kindCluster, [YAML.parse(kind.inputs.stdin as string)]);

      const release = only(evaluation.registrations, "kubernetes:helm.sh/v3:Release");
      const releases = readYamlDocuments(fs.readFileSync(path.join(outDir, "helm-releases.yaml"), "utf8"));
      assert.deepEqual(releases, [
        {
          name: "flux",
          namespace: "flux-system",
          chart: "flux2",
          version: "2.18.3",
          repository: "https://fluxcd-community.github.io/helm-charts",
          values: release.inputs.values,
        },
      ]);
    } finally {
      fs.rmSync(outDir, { recursive: true, force: true });
    }
  });

  it("exits 1 on invalid configuration, lists every problem on stderr and writes nothing", () => {
    const project = projectCopy({
      "Pulumi.broken.yaml": "config:\n  gitops:cluster:\n    workers: -2\n    name: Broken\n",
      "stacks/broken/flux-values.yaml": "logLevel: [\n",
    });
    try {
      const outDir = path.join(project.root, "out", "broken");
      const result = runCli("infra/cli/render.ts", ["broken", "--out", outDir], { cwd: project.root });
      assert.equal(result.status, 1);
      assert.equal(result.stdout, "");
      assert.match(result.stderr, /^Invalid configuration for stack "broken" \(3 problems\):/);
      assert.match(result.stderr, /gitops:cluster\.name: "Broken" — must be a kind cluster name/);
      assert.match(result.stderr, /gitops:cluster\.workers: -2 — must be a whole number from 0 to 10/);
      assert.match(result.stderr, /stacks\/broken\/flux-values\.yaml:\d+:\d+: .* — must be valid YAML/);
      assert.equal(fs.existsSync(path.join(project.root, "out")), false);
    } finally {
      project.remove();
    }
  });

  it("renders a new environment from its stack file alone, with no code change", () => {
    const project = projectCopy({ "Pulumi.staging.yaml": "config:\n  gitops:cluster:\n    workers: 1\n" });
    try {
      const result = runCli("infra/cli/render.ts", ["staging", "--out", "out/staging"], { cwd: project.root });
      assert.equal(result.status, 0, result.stderr);
      const kindCluster = YAML.parse(fs.readFileSync(path.join(project.root, "out/staging/kind-cluster.yaml"), "utf8")) as {
        nodes: { role: string }[];
      };
      assert.deepEqual(kindCluster.nodes.map((node) => node.role), ["control-plane", "worker"]);
    } finally {
      project.remove();
    }
  });

  it("names the environments when asked for one that does not exist (exit 2)", () => {
    const result = runCli("infra/cli/render.ts", ["nope"]);
    assert.equal(result.status, 2);
    assert.equal(result.stderr.trim(), 'no environment "nope": Pulumi.nope.yaml does not exist (environments: dev, prod)');
  });

  it("prints its usage without an environment (exit 2)", () => {
    const result = runCli("infra/cli/render.ts", []);
    assert.equal(result.status, 2);
    assert.equal(result.stderr.trim(), "usage: npm run render -- <env> [--out DIR]");
  });
});
