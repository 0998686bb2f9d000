// The local Git server's settings (cluster.gitServer): with no git.url, Flux syncs from it over
// kind's network and writes image tags back to it by default; it never goes with another
// repository, an existing cluster or a port something else of the stack takes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { rejectionOf, settingsFor } from "./support/settings.ts";

describe("the local Git server's settings", () => {
  it("with no git.url: Flux syncs the stack's folder from it, over plain HTTP on kind's network, and writes image tags back", () => {
    const { git, cluster } = settingsFor({ cluster: { gitServer: { enabled: true } } });
    const server = {
      containerName: "gitops-qa-git",
      repository: "gitops",
      clusterUrl: "http://gitops-qa-git:23232/gitops.git",
      hostPort: 3001,
      hostUrl: "http://127.0.0.1:3001/gitops.git",
    };
    assert.deepEqual(cluster.kind === "kind" && cluster.gitServer, server);
    assert.deepEqual(git, {
      mode: "local",
      server,
      location: { url: server.clusterUrl, scheme: "http", host: "gitops-qa-git", port: 23232, repository: "gitops" },
      branch: "main",
      path: "./stacks/qa/apps",
      interval: "5m",
      prune: true,
      timeout: "20s",
      healthTimeout: "3m",
      imageUpdates: { interval: "5m", author: { name: "fluxcdbot", email: "fluxcdbot@users.noreply.github.com" } },
    });
  });

  it("image updates stay off when the stack turns them off, and are off by default for any other repository", () => {
    const off = settingsFor({ cluster: { gitServer: { enabled: true } }, git: { imageUpdates: { enabled: false } } }).git;
    assert.equal(off.mode === "local" && off.imageUpdates, undefined);
    const elsewhere = settingsFor({ git: { url: "https://gitlab.example.com/acme/demo" } }).git;
    assert.equal(elsewhere.mode === "https" && elsewhere.imageUpdates, undefined);
  });

  it("starts none when git.url names a repository: that one is synced, as without the server", () => {
    const { git, cluster } = settingsFor({
      cluster: { gitServer: { enabled: true } },
      git: { url: "https://gitlab.example.com/acme/demo" },
    });
    assert.equal(git.mode, "https");
    assert.equal(cluster.kind === "kind" && cluster.gitServer, undefined);
  });

  it("refuses it on a port the registry or a mapping takes, and for an existing cluster", () => {
    assert.deepEqual(rejectionOf({ cluster: { registry: { enabled: true, hostPort: 3001 }, gitServer: { enabled: true } } }).problems, [
      "gitops:cluster.gitServer.hostPort: 3001 — must differ from cluster.registry.hostPort, which already takes TCP port 3001",
    ]);
    assert.deepEqual(
      rejectionOf({ cluster: { extraPortMappings: [{ containerPort: 30080, hostPort: 3001 }], gitServer: { enabled: true } } }).problems,
      [
        "gitops:cluster.gitServer.hostPort: 3001 — must differ from the ports of cluster.extraPortMappings: mapping [0] already takes TCP port 3001",
      ],
    );
    assert.match(
      rejectionOf({ cluster: { kind: "existing", gitServer: { enabled: true } } }).problems.join("\n"),
      /^gitops:cluster\.gitServer: \{"enabled":true,"hostPort":3001\} — is only used with cluster\.kind: kind \(this stack deploys into an existing cluster\)$/m,
    );
  });

  it("image updates without any repository are refused, naming both ways to have one", () => {
    assert.deepEqual(rejectionOf({ git: { imageUpdates: { enabled: true } } }).problems, [
      "gitops:git.imageUpdates.enabled: true — needs a repository: set git.url, or turn on cluster.gitServer (image updates are commits to it)",
    ]);
  });
});
