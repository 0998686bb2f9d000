// The GitSync component under plain mocks: the sync objects, the credentials Secret for each
// way of authenticating, image updates, and the deploy-key outputs it owns.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { commitMessageTemplate, GitSync, secretData, type GitCredentials, type GitSyncArgs } from "../../infra/components/gitSync.ts";
import { githubKnownHosts } from "../../infra/settings/index.ts";
import { settle } from "../helpers.ts";
import { build, fluxInstance, types } from "../support/components.ts";

const base: Omit<GitSyncArgs, "credentials" | "flux" | "cluster"> = {
  url: "ssh://git@github.com/acme/gitops-demo.git",
  branch: "demo",
  path: "./clusters/qa",
  interval: "2m",
  prune: false,
  timeout: "30s",
  healthTimeout: "4m",
  namespace: "gitops-flux",
  environment: "qa",
};
function buildSync(credentials: GitCredentials, extra: Partial<GitSyncArgs> = {}) {
  return build((cluster) => {
    const flux = fluxInstance();
    return new GitSync("git", { ...base, credentials, ...extra, flux, cluster });
  });
}
const spec = (registration: { inputs: Record<string, unknown> }) => registration.inputs.spec as Record<string, unknown>;
const author = { name: "Demo Bot", email: "bot@example.com" };

describe("the GitSync component", () => {
  it("fetches the branch at its interval and applies the path with prune and a health-check timeout, after the FluxInstance", async () => {
    const built = await buildSync({ kind: "generatedKey", knownHosts: githubKnownHosts, readOnly: true });
    assert.deepEqual(spec(built.only(types.gitRepository)), {
      url: base.url,
      ref: { branch: "demo" },
      interval: "2m",
      timeout: "30s",
      secretRef: { name: "flux-system" },
    });
    assert.deepEqual(spec(built.only(types.kustomization)), {
      interval: "2m",
      path: "./clusters/qa",
      prune: false,
      sourceRef: { kind: "GitRepository", name: "flux-system" },
      wait: true,
      timeout: "4m",
    });
    const flux = built.children.find((r) => r.name === "flux-instance")!;
    for (const type of [types.gitRepository, types.kustomization]) {
      const registration = built.only(type);
      assert.ok(registration.dependencies.includes(flux.urn), type);
      assert.deepEqual(registration.inputs.metadata, { name: "flux-system", namespace: "gitops-flux" }, type);
      assert.equal(registration.deletedWith, built.cluster.anchor.urn, type);
    }
  });

  it("generates an ED25519 deploy key with fixed inputs, so updates keep it, and outputs its public half, page and access", async () => {
    const built = await buildSync(
      { kind: "generatedKey", knownHosts: githubKnownHosts, readOnly: false },
      { deployKeyPage: "https://github.com/acme/gitops-demo/settings/keys/new" },
    );
    const key = built.only(types.privateKey);
    assert.deepEqual(key.inputs, { algorithm: "ED25519" });
    assert.match(key.parent, /gitops:infra:GitSync::git$/);
    const again = await buildSync({ kind: "generatedKey", knownHosts: githubKnownHosts, readOnly: false });
    assert.deepEqual(again.only(types.privateKey).inputs, key.inputs, "nothing in its inputs changes between runs");
    assert.equal(await settle(built.component.deployKey!), "(known after deployment: generated SSH public key)");
    assert.equal(built.component.deployKeyPage, "https://github.com/acme/gitops-demo/settings/keys/new");
    assert.equal(built.component.deployKeyAccess, 'read-write: tick "Allow write access" (Flux pushes image updates)');
  });

  it("with the user's own key: no key generated, no page, read-only advice", async () => {
    const built = await buildSync({
      kind: "suppliedKey",
      privateKey: pulumi.secret("PRIVATE"),
      knownHosts: "git.example.com ssh-ed25519 AAAA",
      readOnly: true,
    });
    assert.equal(built.children.filter((r) => r.type === types.privateKey).length, 0);
    assert.equal(built.component.deployKey, undefined);
    assert.equal(built.component.deployKeyAccess, 'read-only: leave "Allow write access" unticked');
  });

  it("over HTTPS with a token: the token is the Secret's password, and there is no deploy key", async () => {
    const built = await buildSync(
      { kind: "token", username: "robot", token: pulumi.secret("TOKEN") },
      { url: "https://git.example.com/acme/demo" },
    );
    assert.deepEqual(built.only(types.secret).secretInputs, ["stringData"]);
    assert.equal(built.component.deployKey, undefined);
    assert.equal(built.component.deployKeyAccess, undefined);
  });

  it("a public HTTPS repository needs no Secret", async () => {
    const built = await buildSync({ kind: "none" }, { url: "https://github.com/acme/demo" });
    assert.equal(built.children.filter((r) => r.type === types.secret).length, 0);
    assert.equal(spec(built.only(types.gitRepository)).secretRef, undefined);
  });

  it("keeps every credential in the Secret secret", async () => {
    const built = await buildSync({
      kind: "suppliedKey",
      privateKey: pulumi.secret("PRIVATE"),
      knownHosts: "h ssh-ed25519 AAAA",
      readOnly: true,
    });
    const secret = built.only(types.secret);
    assert.deepEqual(secret.secretInputs, ["stringData"]);
    assert.ok(Object.values(secret.inputs.stringData as object).every((value) => value === "(secret)"));
  });

  it("writes new image tags back when asked: as the author it is given, a message naming the environment, setters from the root", async () => {
    const built = await buildSync(
      { kind: "generatedKey", knownHosts: githubKnownHosts, readOnly: false },
      { imageUpdates: { interval: "7m", author } },
    );
    assert.deepEqual(spec(built.only(types.imageUpdates)), {
      interval: "7m",
      sourceRef: { kind: "GitRepository", name: "flux-system" },
      git: {
        checkout: { ref: { branch: "demo" } },
        commit: { author, messageTemplate: commitMessageTemplate("qa") },
        push: { branch: "demo" },
      },
      update: { path: "./", strategy: "Setters" },
    });
    assert.match(
      commitMessageTemplate("qa"),
      /^\[qa\] Update images\n\n\{\{ range \.Changed\.Changes -\}\}\n- \{\{ \.OldValue \}\} -> \{\{ \.NewValue \}\}/,
    );
    assert.equal(built.component.description, `on: ${base.url} branch demo, path ./clusters/qa, every 2m, image updates pushed back`);
    const without = await buildSync({ kind: "generatedKey", knownHosts: githubKnownHosts, readOnly: true });
    assert.equal(without.children.filter((r) => r.type === types.imageUpdates).length, 0);
    assert.equal(without.component.description, `on: ${base.url} branch demo, path ./clusters/qa, every 2m`);
  });
});

describe("the Secret's data, in the source-controller's format", () => {
  it("generated key: the key pair and the known_hosts", async () => {
    const key = { privateKeyOpenssh: pulumi.output("PRIVATE"), publicKeyOpenssh: pulumi.output("ssh-ed25519 PUBLIC") };
    const data = secretData({ kind: "generatedKey", knownHosts: "KNOWN", readOnly: true }, key)!;
    assert.deepEqual(await settle(data), { identity: "PRIVATE", "identity.pub": "ssh-ed25519 PUBLIC", known_hosts: "KNOWN" });
  });

  it("own key: that key and the known_hosts, kept secret", async () => {
    const data = secretData({ kind: "suppliedKey", privateKey: pulumi.secret("PRIVATE"), knownHosts: "KNOWN", readOnly: true })!;
    assert.equal(await pulumi.isSecret(data), true);
    assert.deepEqual(await settle(data), { identity: "PRIVATE", known_hosts: "KNOWN" });
  });

  it("token: the user name and the token as password, kept secret", async () => {
    const data = secretData({ kind: "token", username: "robot", token: pulumi.secret("TOKEN") })!;
    assert.equal(await pulumi.isSecret(data), true);
    assert.deepEqual(await settle(data), { username: "robot", password: "TOKEN" });
  });

  it("public repository: none", () => {
    assert.equal(secretData({ kind: "none" }), undefined);
  });
});

describe("GitHub's built-in host keys", () => {
  it("are the keys GitHub publishes, by their SHA256 fingerprints", () => {
    const fingerprints = githubKnownHosts.split("\n").map((line) => {
      const [host, type, key] = line.split(" ");
      const digest = createHash("sha256").update(Buffer.from(key!, "base64")).digest("base64").replace(/=+$/, "");
      return `${host} ${type} SHA256:${digest}`;
    });
    // docs.github.com: "GitHub's SSH key fingerprints".
    assert.deepEqual(fingerprints, [
      "github.com ssh-ed25519 SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU",
      "github.com ecdsa-sha2-nistp256 SHA256:p2QAMXNIC1TJYWeIOttrVc98/R1BUFWu3/LiyKgUfQM",
      "github.com ssh-rsa SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s",
    ]);
  });
});
