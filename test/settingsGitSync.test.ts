// Git sync's settings, parsed from a stack's git: section (and a GitHub token): SSH or HTTPS,
// GitHub's host keys or the given ones, the deploy key and whether it is added to GitHub, and
// image updates. The rest of a stack's settings: settings.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { githubKnownHosts } from "../infra/settings/index.ts";
import { settle } from "./helpers.ts";
import { settingsFor } from "./support/settings.ts";

describe("Git sync", () => {
  const common = { branch: "main", path: "./stacks/qa/apps", interval: "5m", prune: true, timeout: "20s", healthTimeout: "3m" };
  const author = { name: "fluxcdbot", email: "fluxcdbot@users.noreply.github.com" };

  it("syncs over SSH with GitHub's host keys and a generated read-only deploy key when only an ssh:// URL is set", () => {
    assert.deepEqual(settingsFor({ git: { url: "ssh://git@github.com/acme/demo.git" } }).git, {
      mode: "ssh",
      location: { url: "ssh://git@github.com/acme/demo.git", scheme: "ssh", host: "github.com", repository: "acme/demo" },
      ...common,
      knownHosts: githubKnownHosts,
      readOnly: true,
      key: { kind: "generated" },
    });
  });

  it("syncs a public repository as user git, without a token, when only an https:// URL is set", () => {
    assert.deepEqual(settingsFor({ git: { url: "https://gitlab.example.com/acme/demo/" } }).git, {
      mode: "https",
      location: { url: "https://gitlab.example.com/acme/demo/", scheme: "https", host: "gitlab.example.com", repository: "acme/demo" },
      ...common,
      username: "git",
    });
  });

  it("uses the known hosts given for an SSH host other than github.com", () => {
    const knownHosts = "gitlab.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample";
    const { git } = settingsFor({ git: { url: "ssh://git@gitlab.example.com/acme/demo.git", knownHosts } });
    assert.equal(git.mode === "ssh" && git.knownHosts, knownHosts);
  });

  it("commits new image tags every 5m as Flux's documented bot when image updates are enabled without details", () => {
    const { git } = settingsFor({ git: { url: "ssh://git@github.com/acme/demo.git", readOnly: false, imageUpdates: { enabled: true } } });
    assert.equal(git.mode, "ssh");
    assert.deepEqual(git.imageUpdates, { interval: "5m", author });
  });

  describe("adding the generated deploy key to GitHub", () => {
    const github = { git: { url: "ssh://git@github.com/acme/demo.git" } };
    // Other warnings (stacks/qa/apps is not in this checkout) are not this test's subject.
    const keyWarnings = (settings: ReturnType<typeof settingsFor>) => settings.warnings.filter((warning) => warning.includes("deploy key"));
    const addedBy = (settings: ReturnType<typeof settingsFor>) =>
      settings.git.mode === "ssh" && settings.git.key.kind === "generated" ? settings.git.key.addedBy : undefined;

    it("does so with the githubToken setting, kept a Pulumi secret, and warns of nothing", async () => {
      const settings = settingsFor(github, {}, { secrets: { githubToken: "TOKEN-FROM-SETTING" } });
      const access = addedBy(settings);
      assert.ok(access);
      assert.deepEqual({ ...access, token: undefined }, { owner: "acme", name: "demo", tokenFrom: "githubToken", token: undefined });
      assert.equal(await pulumi.isSecret(access.token), true);
      assert.equal(await settle(access.token), "TOKEN-FROM-SETTING");
      assert.deepEqual(keyWarnings(settings), []);
    });

    it("does so with GITHUB_TOKEN, warning that an update run without it removes the key; the setting wins over it", async () => {
      const fromEnvironment = settingsFor(github, { environment: { GITHUB_TOKEN: "TOKEN-FROM-ENV" } });
      assert.equal(addedBy(fromEnvironment)?.tokenFrom, "GITHUB_TOKEN");
      assert.equal(await settle(addedBy(fromEnvironment)!.token), "TOKEN-FROM-ENV");
      assert.deepEqual(keyWarnings(fromEnvironment), [
        "the deploy key is added to acme/demo on GitHub with GITHUB_TOKEN from the environment: an update run without it removes the key; " +
          "to keep it, store the token in the stack (pulumi config set --secret githubToken <token>)",
      ]);
      assert.ok(fromEnvironment.warnings.every((warning) => !warning.includes("TOKEN-FROM-ENV")));
      const both = settingsFor(
        github,
        { environment: { GITHUB_TOKEN: "TOKEN-FROM-ENV" } },
        { secrets: { githubToken: "TOKEN-FROM-SETTING" } },
      );
      assert.equal(await settle(addedBy(both)!.token), "TOKEN-FROM-SETTING");
    });

    it("does not with an empty GITHUB_TOKEN, and ignores GITHUB_TOKEN where it does not apply", () => {
      assert.equal(addedBy(settingsFor(github, { environment: { GITHUB_TOKEN: " " } })), undefined);
      const elsewhere = settingsFor(
        {
          git: {
            url: "ssh://git@gitlab.example.com/acme/demo.git",
            knownHosts: "gitlab.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample",
          },
        },
        { environment: { GITHUB_TOKEN: "TOKEN-FROM-ENV" } },
      );
      assert.equal(addedBy(elsewhere), undefined);
      assert.deepEqual(keyWarnings(elsewhere), []);
      const https = settingsFor({ git: { url: "https://github.com/acme/demo" } }, { environment: { GITHUB_TOKEN: "TOKEN-FROM-ENV" } });
      assert.equal(https.git.mode, "https");
    });
  });

  it("leaves image updates out, details and all, unless they are enabled", () => {
    const { git } = settingsFor({ git: { url: "https://github.com/acme/demo", imageUpdates: { interval: "1m", author } } });
    assert.equal(git.mode, "https");
    assert.equal("imageUpdates" in git, false);
  });
});
