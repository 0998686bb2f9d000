// The ImagePolicies component under plain mocks: the ImageRepository Flux scans and the policy.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { ImagePolicies } from "../../infra/components/imagePolicies.ts";
import { build, fluxInstance, type Built } from "../support/components.ts";

// A suite of its own: the tests of every file run in one process, and a top-level hook would run for all of them.
describe("the ImagePolicies component", () => {
  let built: Built<ImagePolicies>;
  before(async () => {
    built = await build((cluster) => {
      const flux = fluxInstance();
      return new ImagePolicies("images", {
        namespace: "flux",
        repository: "registry.example/team/server",
        scanInterval: "2m",
        policyName: "server-qa",
        filterTags: { pattern: "^v(?P<n>[0-9]+)$", extract: "$n" },
        policy: { numerical: { order: "asc" } },
        flux,
        cluster,
      });
    });
  });

  describe("the ImagePolicies component", () => {
    it("scans the repository it is given at its interval", () => {
      const repository = built.only("kubernetes:image.toolkit.fluxcd.io/v1:ImageRepository");
      assert.deepEqual(repository.inputs.spec, { image: "registry.example/team/server", interval: "2m" });
      assert.deepEqual(repository.inputs.metadata, { name: "server", namespace: "flux" });
    });

    it("picks tags by the filter and policy it is given, under the name the stack file's marker uses", () => {
      const policy = built.only("kubernetes:image.toolkit.fluxcd.io/v1:ImagePolicy");
      assert.deepEqual(policy.inputs.metadata, { name: "server-qa", namespace: "flux" });
      assert.deepEqual(policy.inputs.spec, {
        imageRepositoryRef: { name: "server" },
        filterTags: { pattern: "^v(?P<n>[0-9]+)$", extract: "$n" },
        policy: { numerical: { order: "asc" } },
      });
    });

    it("waits for the FluxInstance, which brings the image CRDs", () => {
      const release = built.children.find((r) => r.name === "flux-instance")!;
      for (const registration of built.children.filter((r) => r.type.startsWith("kubernetes:"))) {
        assert.ok(registration.dependencies.includes(release.urn), registration.name);
      }
    });
  });
});
