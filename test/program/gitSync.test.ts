// The GitOps loop in whole stacks (fixture stack files evaluated as dev under the mock engine):
// the settings reach the GitSync component, and the outputs say what to do with the deploy key.
// The setter markers image updates need are in setterMarkers.test.ts; the component's own
// behaviour is in test/components/gitSync.test.ts.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import type * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { main as render } from "../../tools/render.ts";
import type { Registration } from "../../tools/offline/mockEngine.ts";
import { renderRegistrations } from "../../tools/offline/documents.ts";
import { captureIo, evaluatedBefore, fixtures, only, projectCopy, settle } from "../helpers.ts";
import { types } from "../support/components.ts";
import { crdProblems, validateWithModel, type KubernetesObject } from "../support/schemas.ts";

const fixture = (name: string) => path.join(fixtures, "stacks", `${name}.yaml`);
// A suite of its own: the tests of every file run in one process, and a top-level hook would run for all of them.
describe("the GitOps loop in whole stacks", () => {
  const evaluations = evaluatedBefore({
    ...Object.fromEntries(["git-ssh", "git-https", "git-ssh-own-key"].map((name) => [name, { stack: "dev", stackFile: fixture(name) }])),
    // dev with its local Git server off: nothing to sync from.
    "no-repository": {
      stack: "dev",
      overrides: { cluster: { name: "gitops-dev", registry: { enabled: true }, gitServer: { enabled: false } } },
    },
    "key-added-with-setting": {
      stack: "dev",
      stackFile: fixture("git-ssh"),
      overrides: { githubToken: "ghp_FROM_THE_SETTING" },
      secretKeys: ["gitops:githubToken"],
    },
    "key-added-with-environment": {
      stack: "dev",
      stackFile: fixture("git-ssh"),
      environment: { GITHUB_TOKEN: "ghp_FROM_THE_ENVIRONMENT" },
    },
    "own-key-with-environment-token": {
      stack: "dev",
      stackFile: fixture("git-ssh-own-key"),
      environment: { GITHUB_TOKEN: "ghp_FROM_THE_ENVIRONMENT" },
    },
  });
  const registrations = (name: string) => evaluations.get(name)!.registrations;
  const outputs = (name: string) => evaluations.get(name)!.outputs as unknown as Record<string, unknown>;
  const spec = (name: string, type: string) => (only(registrations(name), type).inputs as { spec: Record<string, unknown> }).spec;

  describe("a stack syncing a GitHub repository over SSH, with image updates", () => {
    it("syncs ./stacks/<env>/apps of the main branch every 5m, with the defaults for everything else", () => {
      assert.deepEqual(spec("git-ssh", types.gitRepository), {
        url: "ssh://git@github.com/acme/gitops-demo.git",
        ref: { branch: "main" },
        interval: "5m",
        timeout: "20s",
        secretRef: { name: "flux-system" },
      });
      assert.equal(spec("git-ssh", types.kustomization).path, "./stacks/dev/apps");
      assert.equal(spec("git-ssh", types.kustomization).prune, true);
    });

    it("puts the sync objects in Flux's namespace, with its ImagePolicy, after the FluxInstance, deleted with the cluster", () => {
      const flux = only(registrations("git-ssh"), "kubernetes:fluxcd.controlplane.io/v1:FluxInstance");
      const kind = only(registrations("git-ssh"), "command:local:Command");
      const policy = only(registrations("git-ssh"), "kubernetes:image.toolkit.fluxcd.io/v1:ImagePolicy");
      for (const type of [types.gitRepository, types.kustomization, types.imageUpdates, types.secret]) {
        const registration = only(registrations("git-ssh"), type);
        assert.equal(
          (registration.inputs.metadata as { namespace: string }).namespace,
          (policy.inputs.metadata as { namespace: string }).namespace,
          type,
        );
        if (type !== types.secret) assert.ok(registration.dependencies.includes(flux.urn), type);
        assert.equal(registration.deletedWith, kind.urn, type);
      }
    });

    it("generates a deploy key and outputs it, where to add it, and that it needs write access", async () => {
      assert.equal(registrations("git-ssh").filter((r) => r.type === types.privateKey).length, 1);
      const out = outputs("git-ssh");
      assert.equal(await settle(out.deployKey as pulumi.Output<string>), "(known after deployment: generated SSH public key)");
      assert.equal(out.deployKeyPage, "https://github.com/acme/gitops-demo/settings/keys/new");
      assert.equal(out.deployKeyAccess, 'read-write: tick "Allow write access" (Flux pushes image updates)');
      assert.equal(
        out.gitSync,
        "on: ssh://git@github.com/acme/gitops-demo.git branch main, path ./stacks/dev/apps, every 5m, image updates pushed back",
      );
    });

    it("commits image updates as Flux's noreply bot, naming the environment", () => {
      const commit = (spec("git-ssh", types.imageUpdates).git as { commit: { author: unknown; messageTemplate: string } }).commit;
      assert.deepEqual(commit.author, { name: "fluxcdbot", email: "fluxcdbot@users.noreply.github.com" });
      assert.match(commit.messageTemplate, /^\[dev\] Update images/);
    });
  });

  describe("a stack syncing over HTTPS with a token", () => {
    it("keeps the configured branch, path, interval, prune and author", () => {
      const repository = spec("git-https", types.gitRepository);
      assert.equal(repository.url, "https://github.com/acme/gitops-demo");
      assert.deepEqual(repository.ref, { branch: "demo" });
      assert.equal(repository.interval, "1m");
      const kustomization = spec("git-https", types.kustomization);
      assert.equal(kustomization.path, "./clusters/dev");
      assert.equal(kustomization.prune, false);
      assert.deepEqual((spec("git-https", types.imageUpdates).git as { commit: { author: unknown } }).commit.author, {
        name: "Demo Bot",
        email: "bot@example.com",
      });
    });

    it("stores the token as the Secret's password, and has no deploy key", () => {
      assert.deepEqual(Object.keys(only(registrations("git-https"), types.secret).inputs.stringData as object).sort(), [
        "password",
        "username",
      ]);
      assert.equal(registrations("git-https").filter((r) => r.type === types.privateKey).length, 0);
      const out = outputs("git-https");
      assert.equal(out.deployKey, undefined);
      assert.equal(out.deployKeyAccess, undefined);
    });
  });

  describe("a stack syncing a self-hosted repository with the user's own SSH key", () => {
    it("uses that key and the configured known_hosts, is read-only and writes nothing back", () => {
      assert.deepEqual(Object.keys(only(registrations("git-ssh-own-key"), types.secret).inputs.stringData as object).sort(), [
        "identity",
        "known_hosts",
      ]);
      assert.equal(registrations("git-ssh-own-key").filter((r) => r.type === types.privateKey).length, 0);
      assert.equal(registrations("git-ssh-own-key").filter((r) => r.type === types.imageUpdates).length, 0);
      const out = outputs("git-ssh-own-key");
      assert.equal(out.deployKey, undefined);
      assert.equal(out.deployKeyPage, undefined);
      assert.equal(out.deployKeyAccess, 'read-only: leave "Allow write access" unticked');
    });
  });

  describe("a stack given a GitHub token, as the githubToken setting or GITHUB_TOKEN", () => {
    const deployKeyType = "github:index/repositoryDeployKey:RepositoryDeployKey";
    const providerType = "pulumi:providers:github";
    for (const [name, token] of [
      ["key-added-with-setting", "ghp_FROM_THE_SETTING"],
      ["key-added-with-environment", "ghp_FROM_THE_ENVIRONMENT"],
    ] as const) {
      it(`${name}: adds the generated key to the repository, titled after the environment, with the access git.readOnly says`, () => {
        const key = only(registrations(name), deployKeyType);
        assert.deepEqual(key.inputs, {
          repository: "gitops-demo",
          title: "Flux: dev",
          key: "(known after deployment: generated SSH public key)",
          readOnly: false,
        });
        assert.ok(key.dependencies.includes(only(registrations(name), types.privateKey).urn));
      });

      it(`${name}: through a GitHub provider of its own for the repository's owner, the token a secret`, () => {
        const provider = only(registrations(name), providerType);
        assert.equal(provider.inputs.owner, "acme");
        assert.ok(provider.secretInputs.includes("token"), provider.secretInputs.join(", "));
        assert.ok(only(registrations(name), deployKeyType).provider.startsWith(`${provider.urn}::`));
        assert.doesNotMatch(JSON.stringify(registrations(name)), new RegExp(token));
      });

      it(`${name}: replaces the key by deleting it first (GitHub refuses the same key twice), and destroy removes it even with the cluster`, () => {
        const key = only(registrations(name), deployKeyType);
        assert.equal(key.deleteBeforeReplace, true);
        assert.equal(key.deletedWith, "");
      });

      it(`${name}: Flux's GitRepository waits for the key, and the outputs say it was added instead of where to add it`, async () => {
        const key = only(registrations(name), deployKeyType);
        assert.ok(only(registrations(name), types.gitRepository).dependencies.includes(key.urn));
        const out = outputs(name);
        assert.equal(out.deployKeyAdded, 'added to github.com/acme/gitops-demo as "Flux: dev", read-write; removed on destroy');
        assert.equal(out.deployKeyPage, undefined);
        assert.equal(out.deployKeyAccess, undefined);
        assert.equal(await settle(out.deployKey as pulumi.Output<string>), "(known after deployment: generated SSH public key)");
      });
    }

    it("without a token, or with the user's own key, nothing is added on GitHub", () => {
      for (const name of ["git-ssh", "own-key-with-environment-token", "git-https", "no-repository"]) {
        assert.deepEqual(
          registrations(name)
            .filter((registration) => registration.type === deployKeyType || registration.type === providerType)
            .map((registration) => registration.type),
          [],
          name,
        );
        assert.equal(outputs(name).deployKeyAdded, undefined, name);
      }
    });
  });

  describe("with no repository configured", () => {
    it("creates no sync object, key or Secret, and says sync is off", () => {
      const gitTypes: string[] = Object.values(types);
      assert.deepEqual(
        registrations("no-repository").filter((r: Registration) => gitTypes.includes(r.type)),
        [],
      );
      assert.equal(
        outputs("no-repository").gitSync,
        "off: no repository configured (set git.url, or turn on cluster.gitServer, in Pulumi.dev.yaml)",
      );
      assert.equal(outputs("no-repository").deployKey, undefined);
    });
  });

  describe("the new Flux objects against the pinned CRDs", () => {
    for (const name of ["git-ssh", "git-https", "git-ssh-own-key"]) {
      it(`${name}: GitRepository, Kustomization, ImageUpdateAutomation and Secret validate strictly`, async () => {
        const manifests = renderRegistrations(registrations(name)).manifests as KubernetesObject[];
        const gitObjects = manifests.filter((object) =>
          ["GitRepository", "Kustomization", "ImageUpdateAutomation", "Secret"].includes(object.kind),
        );
        assert.ok(gitObjects.length >= 3);
        for (const object of gitObjects) {
          await validateWithModel(object);
          if (object.kind !== "Secret") assert.deepEqual(crdProblems(object), [], object.kind);
        }
      });
    }

    it("render of a stack with a repository shows the sync objects, and no key", async () => {
      const copy = projectCopy({ "Pulumi.gitdemo.yaml": fs.readFileSync(fixture("git-ssh"), "utf8") });
      try {
        const io = captureIo({ root: copy.root });
        assert.equal(await render(["gitdemo"], io), 0, io.err());
        const kinds = YAML.parseAllDocuments(io.out()).map((document) => (document.toJS() as { kind: string }).kind);
        for (const kind of ["Secret", "GitRepository", "Kustomization", "ImageUpdateAutomation"]) assert.ok(kinds.includes(kind), kind);
        assert.doesNotMatch(io.out(), /PRIVATE KEY/);
      } finally {
        copy.remove();
      }
    });
  });
});
