// Settings stored encrypted in a stack file (pulumi config set --secret, with or without --path)
// cannot be read offline: render, doctor and the lifecycle checks show the section's defaults,
// say which value is encrypted, and never refuse the stack with no problem named.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { main as render } from "../tools/render.ts";
import { captureIo, projectCopy } from "./helpers.ts";

describe("settings stored encrypted, offline", () => {
  it("takes a section stored encrypted as a whole, offline showing its defaults with a warning", async () => {
    const copy = projectCopy({ "Pulumi.qa.yaml": "config:\n  gitops:git:\n    secure: v1:abc:def\n" });
    try {
      const io = captureIo({ root: copy.root });
      assert.equal(await render(["qa"], io), 0, io.err());
      assert.match(
        io.err(),
        /^gitops: warning: gitops:git is stored encrypted as a whole: it cannot be read here, so its defaults are shown/m,
      );
    } finally {
      copy.remove();
    }
  });

  it("takes a value stored encrypted at a nested path (set --secret --path) the same way, naming it; never refuses with no problem", async () => {
    const copy = projectCopy({ "Pulumi.qa.yaml": "config:\n  gitops:git:\n    url:\n      secure: v1:abc:def\n    branch: main\n" });
    try {
      const io = captureIo({ root: copy.root });
      assert.equal(await render(["qa"], io), 0, io.err());
      assert.equal(
        io.err(),
        "gitops: warning: gitops:git.url is stored encrypted: it cannot be read here, so gitops:git shows its defaults (Pulumi decrypts it for the program)\n",
      );
    } finally {
      copy.remove();
    }
  });
});
