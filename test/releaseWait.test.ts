// npm run release -- <env> --wait against a fake Kubernetes API on loopback: Flux asked to scan
// now, then followed to the new tag and the commit that writes it back. The rest of the tool:
// release.test.ts.
import assert from "node:assert/strict";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { fakeDocker, fakeRegistry, pushTime, registryStack, release } from "./support/release.ts";

describe("npm run release --wait (a fake Kubernetes API on loopback)", () => {
  const requests: string[] = [];
  let server: http.Server;
  let kubeconfig: string;
  /** The ImagePolicy reports the new tag on the third look; the automation pushes on its second. */
  let looks = 0;
  const pushedTag = `master-84e319d-${pushTime}`;

  before(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        const url = req.url!.split("?")[0]!;
        requests.push(`${req.method} ${url}`);
        let status: Record<string, unknown> = {};
        if (req.method === "GET" && url.endsWith("/imagepolicies/server-dev")) {
          looks++;
          status = {
            latestRef: {
              name: "gitops-dev-registry:5000/ricoberger/gitops-using-flux",
              tag: looks >= 3 ? pushedTag : "master-84e319d-1580380800",
            },
          };
        }
        if (req.method === "GET" && url.endsWith("/imageupdateautomations/flux-system")) {
          looks++;
          if (looks >= 5) status = { lastPushCommit: "0123abc", lastPushTime: new Date(Date.now() + 1000).toISOString() };
        }
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ apiVersion: "image.toolkit.fluxcd.io/v1", kind: "Unknown", metadata: {}, status }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    kubeconfig = `apiVersion: v1
kind: Config
clusters: [{name: kind-gitops-dev, cluster: {server: "${url}", insecure-skip-tls-verify: true}}]
users: [{name: kind-gitops-dev, user: {token: test}}]
contexts: [{name: kind-gitops-dev, context: {cluster: kind-gitops-dev, user: kind-gitops-dev}}]
current-context: kind-gitops-dev
`;
  });
  after(() => server.close());

  it("asks Flux to scan now, follows the ImagePolicy to the new tag, then the automation to its commit", async () => {
    looks = 0;
    const withImageUpdates =
      registryStack +
      "  gitops:git:\n    url: ssh://git@github.com/acme/gitops-demo.git\n    readOnly: false\n    imageUpdates:\n      enabled: true\n";
    const result = await release(
      ["dev", "--wait"],
      { "Pulumi.dev.yaml": withImageUpdates, ".kube/gitops-dev.yaml": kubeconfig },
      { machine: fakeDocker().machine, fetch: fakeRegistry([]).fetchTags },
    );
    assert.equal(result.code, 0, result.err);
    const base = "/apis/image.toolkit.fluxcd.io/v1/namespaces/flux-system";
    assert.deepEqual(
      requests.filter((request) => request.startsWith("PATCH")),
      [`PATCH ${base}/imagerepositories/server`, `PATCH ${base}/imageupdateautomations/flux-system`],
    );
    const progress = result.err
      .split("\n")
      .filter((line) => line.startsWith("gitops: ["))
      .map((line) => line.replace(/\[\d+s\]/, "[<n>s]"));
    assert.deepEqual(progress, [
      "gitops: [<n>s] ImagePolicy server-dev at master-84e319d-1580380800",
      `gitops: [<n>s] ImagePolicy server-dev picked ${pushedTag}`,
      "gitops: [<n>s] waiting for Flux to commit the new tag",
      "gitops: [<n>s] Flux pushed commit 0123abc: git pull --autostash && npm run up -- dev",
    ]);
  });

  it("with the local Git server: the commit is pulled from it, the remote named after the environment", async () => {
    looks = 0;
    const withLocalServer = registryStack.replace("    registry:\n", "    gitServer:\n      enabled: true\n    registry:\n");
    const result = await release(
      ["dev", "--wait"],
      { "Pulumi.dev.yaml": withLocalServer, ".kube/gitops-dev.yaml": kubeconfig },
      { machine: fakeDocker().machine, fetch: fakeRegistry([]).fetchTags },
    );
    assert.equal(result.code, 0, result.err);
    assert.match(
      result.err,
      /^gitops: then Flux commits it to the local Git server, http:\/\/127\.0\.0\.1:3001\/gitops\.git \(main\) within git\.imageUpdates\.interval 5m: git pull --autostash dev main && npm run up -- dev rolls it out$/m,
    );
    assert.match(result.err, /^gitops: \[\d+s\] Flux pushed commit 0123abc: git pull --autostash dev main && npm run up -- dev$/m);
  });
});
