// `npm run render`: what the stack applies, from the same program, without a cluster. Its main
// runs in-process; one test runs it as a process.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { projectRoot } from "../infra/settings/index.ts";
import { main } from "../tools/render.ts";
import { captureIo, evaluate, projectCopy, readYamlDocuments, readYamlFile, shippedStacks } from "./helpers.ts";

const usage = "usage: npm run render -- <env> [--out DIR]   (environments: dev, prod)";

type KubernetesObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };
const identity = (object: KubernetesObject) =>
  `${object.apiVersion}/${object.kind} ${object.metadata.namespace ?? ""}/${object.metadata.name}`;

/** Runs render's main in-process on `root` (the project unless given). */
async function render(argv: string[], root?: string) {
  const io = captureIo({ root });
  const status = await main(argv, io);
  return { status, stdout: io.out(), stderr: io.err() };
}

// Written out here, not taken from the code under test: what kind and the flux-operator chart must receive.
const nodeImage = "kindest/node:v1.36.1@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5";

describe("render", () => {
  for (const stack of shippedStacks) {
    it(`${stack}: prints exactly the Kubernetes objects the program registers, namespaces first`, async () => {
      const result = await render([stack]);
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stderr, "");
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
      assert.ok(firstOther > 0, "there are namespaces, and they come first");
      assert.ok(printed.slice(firstOther).every((object) => object.kind !== "Namespace"));
    });
  }

  it("writes the printed manifests, the kind cluster config and the Helm releases with --out", async () => {
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), "render-"));
    try {
      const result = await render(["prod", "--out", outDir]);
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout, "");
      assert.deepEqual(fs.readdirSync(outDir).sort(), ["helm-releases.yaml", "kind-cluster.yaml", "manifests.yaml"]);

      const printed = (await render(["prod"])).stdout;
      const manifests = fs.readFileSync(path.join(outDir, "manifests.yaml"), "utf8");
      assert.equal(manifests, printed);
      assert.equal(
        result.stderr,
        [
          `wrote ${path.join(outDir, "manifests.yaml")} (${readYamlDocuments(manifests).length} documents)`,
          `wrote ${path.join(outDir, "helm-releases.yaml")} (1 document)`,
          `wrote ${path.join(outDir, "kind-cluster.yaml")} (1 document)`,
          "",
        ].join("\n"),
      );

      // Pulumi.prod.yaml asks for its workers; the control plane and each worker run the pinned node image.
      const prodCluster = (
        readYamlFile(path.join(projectRoot, "Pulumi.prod.yaml")) as { config: { "gitops:cluster": { workers: number } } }
      ).config["gitops:cluster"];
      assert.equal(prodCluster.workers, 2);
      const kindCluster = readYamlDocuments(fs.readFileSync(path.join(outDir, "kind-cluster.yaml"), "utf8"));
      // Named in the file: `kind create cluster --config` on it makes gitops-prod, not a cluster called "kind".
      assert.deepEqual(kindCluster, [
        {
          kind: "Cluster",
          apiVersion: "kind.x-k8s.io/v1alpha4",
          name: "gitops-prod",
          containerdConfigPatches: ['[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"'],
          nodes: [
            { role: "control-plane", image: nodeImage },
            { role: "worker", image: nodeImage },
            { role: "worker", image: nodeImage },
          ],
        },
      ]);

      // Flux Operator's chart, from its OCI address (no Helm repository), with the program's values.
      const releases = readYamlDocuments(fs.readFileSync(path.join(outDir, "helm-releases.yaml"), "utf8"));
      assert.deepEqual(releases, [
        {
          name: "flux-operator",
          namespace: "flux-system",
          chart: "oci://ghcr.io/controlplaneio-fluxcd/charts/flux-operator",
          version: "0.58.1",
          values: {
            web: {
              config: { authentication: { type: "Anonymous", anonymous: { username: "flux", groups: ["flux-web-anonymous"] } } },
              networkPolicy: { create: false },
            },
            serviceMonitor: { create: false },
          },
        },
      ]);
    } finally {
      fs.rmSync(outDir, { recursive: true, force: true });
    }
  });

  it("exits 1 on invalid configuration, lists every problem on stderr and writes nothing", async () => {
    const project = projectCopy({
      "Pulumi.broken.yaml": "config:\n  gitops:cluster:\n    workers: -2\n    name: Broken\n",
      "stacks/broken/flux-values.yaml": "logLevel: debug\n",
    });
    try {
      const result = await render(["broken", "--out", "out/broken"], project.root);
      assert.equal(result.status, 1);
      assert.equal(result.stdout, "");
      assert.equal(
        result.stderr,
        [
          'gitops: Invalid configuration for stack "broken" (3 problems):',
          `  - gitops:cluster.name: "Broken" — must be a kind cluster name: lower-case letters, digits, '.' and '-', starting with a letter or digit`,
          "  - gitops:cluster.workers: -2 — must be a whole number from 0 to 10",
          "  - stacks/broken/flux-values.yaml: flux2 chart values are no longer read — Flux Operator installs Flux now: set flux.logLevel " +
            "(was logLevel) or flux.keepCrds: true (was crds.annotations helm.sh/resource-policy: keep) in Pulumi.broken.yaml, then delete the file (docs/settings.md#flux)",
          "",
        ].join("\n"),
      );
      assert.equal(fs.existsSync(path.join(project.root, "out")), false);
    } finally {
      project.remove();
    }
  });

  it("renders a new environment from its stack file alone, with no code change, into --out relative to the project", async () => {
    const project = projectCopy({ "Pulumi.staging.yaml": "config:\n  gitops:cluster:\n    workers: 1\n" });
    try {
      const result = await render(["staging", "--out", "out/staging"], project.root);
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stderr, /^wrote out\/staging\/manifests\.yaml \(\d+ documents\)\n/);
      assert.deepEqual(readYamlDocuments(fs.readFileSync(path.join(project.root, "out/staging/kind-cluster.yaml"), "utf8")), [
        {
          kind: "Cluster",
          apiVersion: "kind.x-k8s.io/v1alpha4",
          name: "gitops-staging",
          containerdConfigPatches: ['[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"'],
          nodes: [
            { role: "control-plane", image: nodeImage },
            { role: "worker", image: nodeImage },
          ],
        },
      ]);
      const namespaces = readYamlDocuments(fs.readFileSync(path.join(project.root, "out/staging/manifests.yaml"), "utf8")).filter(
        (object) => (object as KubernetesObject).kind === "Namespace",
      );
      assert.ok(namespaces.length > 0, "staging's objects are rendered too");
    } finally {
      project.remove();
    }
  });

  it("names the environments when asked for one that does not exist (exit 2)", async () => {
    const result = await render(["nope"]);
    assert.equal(result.status, 2);
    assert.equal(result.stderr, 'gitops: no environment "nope": Pulumi.nope.yaml does not exist (environments: dev, prod)\n');
    assert.equal(result.stdout, "");
  });

  it("shows each of the program's warnings once, in its own words (not the SDK's engine-less 'warning: [runtime]' too)", async () => {
    const stackFile = fs
      .readFileSync(path.join(projectRoot, "Pulumi.dev.yaml"), "utf8")
      .replace("image: gitops-dev-registry:5000/", "image: ");
    const project = projectCopy({ "Pulumi.dev.yaml": stackFile });
    try {
      const result = await render(["dev"], project.root);
      assert.equal(result.status, 0, result.stderr);
      assert.equal(
        result.stderr,
        "gitops: warning: cluster.registry is on, but server.image ricoberger/gitops-using-flux:master-84e319d-1580380800 is not on it: " +
          "to have the nodes, Flux and npm run release share it, use gitops-dev-registry:5000/ricoberger/gitops-using-flux:master-84e319d-1580380800\n",
      );
    } finally {
      project.remove();
    }
  });

  it("prints its usage without an environment (exit 2)", async () => {
    const result = await render([]);
    assert.equal(result.status, 2);
    assert.equal(result.stderr, `gitops: which environment?\n${usage}\n`);
    assert.equal(result.stdout, "");
  });

  it("prints its usage on stdout with --help (exit 0)", async () => {
    const result = await render(["--help"]);
    assert.equal(result.status, 0);
    assert.ok(result.stdout.startsWith(`${usage}\n\nPrints`), result.stdout);
    assert.equal(result.stderr, "");
  });
});
