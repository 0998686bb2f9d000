// The setter markers image updates need (# {"$imagepolicy": ...} on the server image line of each
// stack file): each environment's own, naming its real ImagePolicy, still read after Flux rewrites
// the line, and a warning when image updates are on but the marker is gone.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as YAML from "yaml";
import { parseSettings, projectRoot } from "../../infra/settings/index.ts";
import { loadStackConfig } from "../../tools/offline/stackConfig.ts";
import { evaluate, only, projectCopy } from "../helpers.ts";

describe("a stack file that lost its setter marker", () => {
  const withImageUpdates = {
    "gitops:git": JSON.stringify({ url: "ssh://git@github.com/acme/demo.git", readOnly: false, imageUpdates: { enabled: true } }),
  };
  const warningsFor = (text: string) =>
    parseSettings({ stack: "dev", project: "gitops", config: withImageUpdates, stackFile: { path: "Pulumi.dev.yaml", text } }).warnings;
  const shipped = fs.readFileSync(path.join(projectRoot, "Pulumi.dev.yaml"), "utf8");

  it("is warned about when image updates are on (pulumi config set may drop comments)", () => {
    const stripped = shipped.replace(/ # \{"\$imagepolicy": "[^"]+"\}/, "");
    assert.notEqual(stripped, shipped);
    assert.deepEqual(warningsFor(stripped), [
      'git.imageUpdates is on, but no image line of Pulumi.dev.yaml ends with the marker # {"$imagepolicy": "flux-system:server-dev"}: ' +
        "Flux will find nothing to update (`pulumi config set` may have removed the comment; add it back to the server image line)",
    ]);
  });

  it("is not warned about while the marker is there, or when image updates are off", () => {
    assert.deepEqual(warningsFor(shipped), []);
    assert.deepEqual(
      parseSettings({ stack: "dev", project: "gitops", config: {}, stackFile: { path: "Pulumi.dev.yaml", text: "" } }).warnings,
      [],
    );
  });
});

describe("the setter markers in the stack files", () => {
  const markerLine = /^(?<indent>\s*)image: (?<image>\S+) # \{"\$imagepolicy": "(?<policy>[^"]+)"\}$/m;

  it("differ per environment: each cluster's image updates scan the whole repository, so they must rewrite only their own file", () => {
    const markers = ["dev", "prod"].map(
      (stack) => markerLine.exec(fs.readFileSync(path.join(projectRoot, `Pulumi.${stack}.yaml`), "utf8"))?.groups?.policy,
    );
    assert.deepEqual(markers, ["flux-system:server-dev", "flux-system:server-prod"]);
  });

  for (const stack of ["dev", "prod"]) {
    it(`Pulumi.${stack}.yaml marks the server image with the real ImagePolicy`, async () => {
      const text = fs.readFileSync(path.join(projectRoot, `Pulumi.${stack}.yaml`), "utf8");
      const marker = markerLine.exec(text);
      assert.ok(marker?.groups, "no marked image line");
      const evaluation = await evaluate(stack);
      const policy = only(evaluation.registrations, "kubernetes:image.toolkit.fluxcd.io/v1:ImagePolicy").inputs.metadata as {
        name: string;
        namespace: string;
      };
      assert.equal(marker.groups.policy, `${policy.namespace}:${policy.name}`);
      // It is the server's image key, not some other value.
      const parsed = YAML.parse(text) as { config: { "gitops:server": { image: string } } };
      assert.equal(parsed.config["gitops:server"].image, marker.groups.image);
    });

    it(`Pulumi.${stack}.yaml still loads and validates after Flux rewrites the marked line`, () => {
      const text = fs.readFileSync(path.join(projectRoot, `Pulumi.${stack}.yaml`), "utf8");
      // What the image-automation-controller does: replace the value, keep the marker.
      const rewritten = text.replace(markerLine, (line, ...args) => {
        const groups = args.at(-1) as { image: string };
        return line.replace(groups.image, "ricoberger/gitops-using-flux:2.3.4");
      });
      assert.notEqual(rewritten, text);
      const copy = projectCopy({ [`Pulumi.${stack}.yaml`]: rewritten });
      try {
        const settings = parseSettings(loadStackConfig(stack, copy.root));
        assert.equal(settings.server.image, "ricoberger/gitops-using-flux:2.3.4");
      } finally {
        copy.remove();
      }
    });
  }
});
