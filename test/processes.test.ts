// Each tool, and the program, run as their own processes, as npm runs them: one smoke test each
// (everything else calls the tools' main functions in-process). They run at the same time.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { describe, it } from "node:test";
import { main as render } from "../tools/render.ts";
import { captureIo, dockerDaemonAnswers, executableMissing, projectCopy, readYamlDocuments, runCli } from "./helpers.ts";

// What this machine lacks, found out independently of doctor and of the e2e suite.
// The Pulumi CLI is never missing: the tools download the project's own on first use (tools/pulumiCli.ts).
const missingTools = ["docker", "kind"].filter((tool) => (tool === "docker" ? !dockerDaemonAnswers() : executableMissing(tool)));

describe("the tools and the program as processes", { concurrency: true }, () => {
  it("npm run render -- dev prints the same YAML as render's main, and exits 0", async () => {
    const [result, inProcess] = await Promise.all([
      runCli("tools/render.ts", ["dev"]),
      (async () => {
        const io = captureIo();
        await render(["dev"], io);
        return io.out();
      })(),
    ]);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr, "");
    assert.equal(result.stdout, inProcess);
    assert.ok(readYamlDocuments(result.stdout).length > 10);
  });

  it("npm run sync -- dev exits 1 with one line: the cluster is not up", async () => {
    const copy = projectCopy({}, { runnable: true });
    try {
      const result = await runCli("tools/sync.ts", ["dev"], {
        cwd: copy.root,
        env: { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin` },
      });
      assert.equal(result.status, 1);
      assert.equal(result.stdout, "");
      assert.equal(result.stderr, "gitops: the dev cluster is not up: no kubeconfig at .kube/gitops-dev.yaml (run npm run up -- dev)\n");
    } finally {
      copy.remove();
    }
  });

  it("npm run release -- dev exits 1 with one line when dev's local registry fails", async () => {
    // A registry of this test's own on dev's port, which fails every request.
    const server = http.createServer((_request, response) => response.writeHead(500).end());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const copy = projectCopy({}, { runnable: true });
    try {
      const stackFile = path.join(copy.root, "Pulumi.dev.yaml");
      fs.writeFileSync(
        stackFile,
        fs.readFileSync(stackFile, "utf8").replace("      enabled: true\n", `      enabled: true\n      hostPort: ${port}\n`),
      );
      const result = await runCli("tools/release.ts", ["dev"], { cwd: copy.root });
      assert.equal(result.status, 1);
      assert.equal(result.stdout, "");
      assert.equal(
        result.stderr,
        `gitops: the local registry of dev answered 500 for http://127.0.0.1:${port}/v2/ricoberger/gitops-using-flux/tags/list\n`,
      );
    } finally {
      server.close();
      copy.remove();
    }
  });

  it("npm run doctor names exactly the tools this machine lacks, and exits 1 when any is missing", async () => {
    const result = await runCli("tools/doctor.ts", []);
    const failed = result.stderr
      .split("\n")
      .filter((line) => line.startsWith("FAIL"))
      .map((line) => line.split(/\s+/)[1]);
    for (const tool of missingTools) assert.ok(failed.includes(tool), `${tool} is missing here but not reported:\n${result.stderr}`);
    for (const tool of ["pulumi", "docker", "kind"]) {
      if (!missingTools.includes(tool))
        assert.ok(!failed.includes(tool), `${tool} is here (or downloaded on first use) but reported missing`);
    }
    assert.equal(result.status, missingTools.length > 0 ? 1 : 0, result.stderr);
  });

  // The end-to-end suite is not part of npm test: here it may only show that it skips with one
  // line and exit 0 where it cannot run. That is not a pass.
  it(
    "npm run test:e2e skips with one line naming exactly what is missing, and exit 0, where Docker or kind is missing",
    { skip: missingTools.length > 0 ? false : "this machine could run the real suite: run npm run test:e2e" },
    async () => {
      const words: Record<string, string> = {
        docker: executableMissing("docker") ? "Docker (docker not on PATH)" : "Docker daemon (docker info failed)",
        kind: "kind (not on PATH)",
      };
      const result = await runCli("test/e2e/e2e.ts", []);
      assert.equal(result.status, 0);
      assert.equal(result.stderr, "");
      assert.equal(
        result.stdout,
        `e2e: skipped: ${["docker", "kind"]
          .filter((tool) => missingTools.includes(tool))
          .map((tool) => words[tool])
          .join(", ")}\n`,
      );
    },
  );

  it("the program stops before any provider or in-cluster resource is registered when kind prints no kubeconfig", async () => {
    // Its own process: the failure surfaces as rejections that would otherwise reach this test runner.
    const result = await runCli("test/support/evaluate.ts", ["dev", "--kind-stdout", ""]);
    assert.equal(result.status, 0, result.stderr);
    const summary = JSON.parse(result.stdout) as { error: string; registered: string[] };
    assert.match(summary.error, /kind printed no kubeconfig for cluster "gitops-dev"; refusing to fall back to the default kubeconfig/);
    assert.deepEqual(
      summary.registered.filter((entry) => entry.startsWith("kubernetes:") || entry.startsWith("pulumi:providers:")),
      [],
    );
  });
});
