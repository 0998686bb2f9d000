// npm run render -- <env> --out <folder>: a place it cannot write is one clear error, and a folder
// it writes into again keeps no file of an earlier render. The rest of render: render.test.ts.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { main as render } from "../tools/render.ts";
import { captureIo, projectCopy } from "./helpers.ts";

describe("render --out", () => {
  it("to a file, or a place it cannot write, is one clear error", async () => {
    const copy = projectCopy();
    try {
      const file = path.join(copy.root, "out.txt");
      fs.writeFileSync(file, "");
      const io = captureIo({ root: copy.root });
      assert.equal(await render(["dev", "--out", file], io), 1);
      assert.equal(io.err(), `gitops: --out ${file}: cannot write there: it is a file, not a folder\n`);
      const inside = captureIo({ root: copy.root });
      assert.equal(await render(["dev", "--out", path.join(file, "sub")], inside), 1);
      assert.match(inside.err(), /^gitops: --out .*out\.txt\/sub: cannot write there: /);
    } finally {
      copy.remove();
    }
  });

  it("into an existing folder leaves no stale file of an earlier render", async () => {
    const copy = projectCopy({
      "test/fixtures/kubeconfig-existing.yaml": fs.readFileSync(
        path.join(import.meta.dirname, "fixtures/kubeconfig-existing.yaml"),
        "utf8",
      ),
    });
    try {
      const out = path.join(copy.root, "rendered");
      assert.equal(await render(["dev", "--out", out], captureIo({ root: copy.root })), 0);
      assert.ok(fs.existsSync(path.join(out, "kind-cluster.yaml")));
      fs.writeFileSync(
        path.join(copy.root, "Pulumi.dev.yaml"),
        fs.readFileSync(path.join(import.meta.dirname, "fixtures/stacks/existing-path.yaml"), "utf8"),
      );
      assert.equal(await render(["dev", "--out", out], captureIo({ root: copy.root })), 0);
      assert.deepEqual(fs.readdirSync(out).sort(), ["helm-releases.yaml", "manifests.yaml"]);
    } finally {
      copy.remove();
    }
  });
});
