// The local Git server in a whole stack (a fixture stack file evaluated as dev under the mock
// engine): started after the kind cluster, filled before Flux's first fetch, synced over plain
// HTTP with no credentials, image tags written back to it, and the remote to add in the outputs.
// Its scripts: test/components/localGitServer.test.ts.
import assert from "node:assert/strict";
import * as path from "node:path";
import { describe, it } from "node:test";
import { renderRegistrations } from "../../tools/offline/documents.ts";
import { evaluatedBefore, fixtures, only } from "../helpers.ts";
import { types } from "../support/components.ts";
import { crdProblems, validateWithModel, type KubernetesObject } from "../support/schemas.ts";

const stackFile = path.join(fixtures, "stacks", "git-server.yaml");

describe("a stack with its local Git server on", () => {
  const evaluations = evaluatedBefore({
    on: { stack: "dev", stackFile },
    "without image updates": { stack: "dev", stackFile, overrides: { git: { imageUpdates: { enabled: false } } } },
  });
  const registrations = (name: string) => evaluations.get(name)!.registrations;
  const spec = (name: string, type: string) => (only(registrations(name), type).inputs as { spec: Record<string, unknown> }).spec;
  const container = () => only(registrations("on"), "command:local:Command", "git-server-container");

  it("starts the server after the kind cluster, to be filled from this checkout on the branch Flux reads", () => {
    const kind = only(registrations("on"), "command:local:Command", "cluster-kind");
    assert.ok(container().dependencies.includes(kind.urn));
    const environment = container().inputs.environment as Record<string, string>;
    assert.deepEqual(
      [environment.GIT_NAME, environment.GIT_HOST_URL, environment.GIT_BRANCH],
      ["gitops-dev-git", "http://127.0.0.1:3001/gitops.git", "main"],
    );
  });

  it("syncs ./stacks/dev/apps from it over kind's network, with no credentials, after it is filled", () => {
    assert.deepEqual(spec("on", types.gitRepository), {
      url: "http://gitops-dev-git:23232/gitops.git",
      ref: { branch: "main" },
      interval: "5m",
      timeout: "20s",
    });
    assert.ok(only(registrations("on"), types.gitRepository).dependencies.includes(container().urn));
    assert.equal(registrations("on").filter((registration) => registration.type === types.secret).length, 0);
    assert.equal(spec("on", types.kustomization).path, "./stacks/dev/apps");
  });

  it("writes new image tags back to it by default, and not when the stack turns that off", () => {
    const updates = spec("on", types.imageUpdates) as { git: { push: { branch: string } } };
    assert.equal(updates.git.push.branch, "main");
    assert.equal(registrations("without image updates").filter((registration) => registration.type === types.imageUpdates).length, 0);
  });

  it("renders Flux objects that the pinned CRDs and the typed models accept", async () => {
    const manifests = renderRegistrations(registrations("on")).manifests as KubernetesObject[];
    const flux = manifests.filter((object) => ["GitRepository", "Kustomization", "ImageUpdateAutomation"].includes(object.kind));
    assert.equal(flux.length, 3);
    for (const object of flux) {
      await validateWithModel(object);
      assert.deepEqual(crdProblems(object), [], object.kind);
    }
  });

  it("says in the outputs where the repository is and which remote to add", () => {
    const outputs = evaluations.get("on")!.outputs as unknown as Record<string, unknown>;
    assert.equal(outputs.gitRemote, "git remote add dev http://127.0.0.1:3001/gitops.git");
    assert.equal(
      outputs.localGitServer,
      "http://127.0.0.1:3001/gitops.git (container gitops-dev-git; Flux reads http://gitops-dev-git:23232/gitops.git)",
    );
    assert.equal(
      outputs.gitSync,
      "on: http://gitops-dev-git:23232/gitops.git branch main, path ./stacks/dev/apps, every 5m, image updates pushed back",
    );
  });
});
