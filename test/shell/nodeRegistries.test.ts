// The node-registry mechanism (hosts.toml on every node) and the machine's pull-through mirrors,
// run for real by bash against stub `docker` and `kind` that fail as the real ones do; and,
// under the mock engine, that no environment owns or deletes the mirrors.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { interpreter } from "../../infra/shell/bash.ts";
import { forgetMirrorsFunction, mirrorsVariable, nodeRegistryFunction, useMirrorsFunction } from "../../infra/shell/nodeRegistries.ts";
import { registryImage, registryMirrors } from "../../infra/settings/index.ts";
import { evaluate, runProcess } from "../helpers.ts";
import { stubDocker, stubKindNodes } from "../support/dockerStub.ts";
import { stubFolder } from "../support/stubFolder.ts";

const nodes = ["gitops-dev-control-plane", "gitops-dev-worker"];

describe("the machine's pull-through mirrors", () => {
  let dir: string;
  beforeEach(() => {
    dir = stubFolder("mirrors-stub-", { docker: stubDocker, kind: stubKindNodes });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Runs `call` after the functions, as the kind scripts do, with the environment they get. */
  async function run(call: string, stub: Record<string, string> = {}) {
    const [shell, ...flags] = interpreter;
    const text = `set -euo pipefail\n${nodeRegistryFunction}\n${useMirrorsFunction}\n${forgetMirrorsFunction}\n${call}`;
    const result = await runProcess(shell!, [...flags, text], {
      env: {
        PATH: `${path.join(dir, "bin")}:/usr/bin:/bin`,
        KIND_CLUSTER_NAME: "gitops-dev",
        PULUMI_STACK_NAME: "dev",
        MIRRORS: mirrorsVariable,
        STUB_LOG: path.join(dir, "calls"),
        STUB_DIR: dir,
        STUB_NODES: nodes.join(" "),
        // The stub answers at once: no need to wait for a mirror that is still starting.
        MIRROR_START_SECONDS: "0",
        ...stub,
      },
    });
    const calls = fs.existsSync(path.join(dir, "calls")) ? fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n") : [];
    return { ...result, calls };
  }
  const container = (name: string) => path.join(dir, "containers", name);
  const hostsToml = (node: string, registry: string) => {
    const file = path.join(dir, "nodes", node, "etc/containerd/certs.d", registry, "hosts.toml");
    return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
  };

  it("starts one mirror per registry on kind's network, each with its cache volume, from the pinned registry image", async () => {
    const result = await run("use_mirrors");
    assert.equal(result.status, 0, result.stderr);
    for (const mirror of registryMirrors) {
      assert.equal(
        fs.readFileSync(container(mirror.container), "utf8").trim(),
        `--detach --restart=always --name ${mirror.container} --network kind --label io.github.gitops-using-flux.mirror=${mirror.registry} ` +
          `--volume ${mirror.container}:/var/lib/registry --log-opt max-size=10m --env OTEL_TRACES_EXPORTER=none --env REGISTRY_LOG_LEVEL=info --env REGISTRY_PROXY_REMOTEURL=${mirror.upstream} ` +
          // Its metrics (what it fetched from upstream) on the container's own loopback: npm run mirrors, the e2e suite.
          `--env REGISTRY_HTTP_DEBUG_ADDR=127.0.0.1:5001 --env REGISTRY_HTTP_DEBUG_PROMETHEUS_ENABLED=true ${registryImage}`,
      );
    }
  });

  it("points every node's containerd at each mirror, falling back to the registry itself", async () => {
    const result = await run("use_mirrors");
    assert.equal(result.status, 0, result.stderr);
    for (const node of nodes) {
      assert.equal(
        hostsToml(node, "docker.io"),
        'server = "https://registry-1.docker.io"\n[host."http://gitops-mirror-docker-io:5000"]\n  capabilities = ["pull", "resolve"]\n',
      );
      for (const mirror of registryMirrors) assert.match(hostsToml(node, mirror.registry)!, new RegExp(`^server = "${mirror.upstream}"`));
    }
    assert.match(result.stderr, /^kind cluster "gitops-dev": ghcr\.io images come through mirror gitops-mirror-ghcr-io$/m);
  });

  it("leaves running mirrors as they are, and starts stopped ones: they belong to the machine, not to this environment", async () => {
    fs.mkdirSync(path.join(dir, "containers"));
    fs.writeFileSync(container("gitops-mirror-docker-io"), "running since an earlier up\n");
    fs.writeFileSync(container("gitops-mirror-quay-io"), "stopped since a Docker restart\nstopped\n");
    const result = await run("use_mirrors");
    assert.equal(result.status, 0, result.stderr);
    const runs = result.calls.filter((call) => call.startsWith("docker run")).map((call) => /--name (\S+)/.exec(call)![1]);
    assert.deepEqual(runs, ["gitops-mirror-ghcr-io", "gitops-mirror-registry-k8s-io"]);
    assert.ok(result.calls.includes("docker start gitops-mirror-quay-io"), result.calls.join("\n"));
    assert.equal(fs.readFileSync(container("gitops-mirror-docker-io"), "utf8"), "running since an earlier up\n");
  });

  it("takes a mirror another environment's up started a moment before as its own", async () => {
    const result = await run("use_mirrors", { STUB_RUN_RACES: "gitops-mirror-docker-io" });
    assert.equal(result.status, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /did not start/);
    assert.ok(hostsToml(nodes[0]!, "docker.io"));
  });

  it("skips a mirror that cannot start, saying so: the nodes pull from that registry directly", async () => {
    const result = await run("use_mirrors", { STUB_RUN_FAILS: "gitops-mirror-quay-io" });
    assert.equal(result.status, 0, result.stderr);
    assert.match(
      result.stderr,
      /^mirror of quay\.io \(container gitops-mirror-quay-io\) did not start: docker: Error response from daemon: toomanyrequests: You have reached your unauthenticated pull rate limit\.\nthe nodes pull from quay\.io directly$/m,
    );
    assert.equal(hostsToml(nodes[0]!, "quay.io"), undefined);
    assert.ok(hostsToml(nodes[0]!, "ghcr.io"));
  });

  it("hands Docker Hub credentials to the Docker Hub mirror only, by name, never on a command line", async () => {
    const result = await run("use_mirrors", { DOCKER_HUB_USERNAME: "demo-user", DOCKER_HUB_TOKEN: "dckr_pat_SECRET" });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(
      fs.readFileSync(path.join(dir, "env-gitops-mirror-docker-io"), "utf8"),
      "REGISTRY_PROXY_USERNAME=demo-user\nREGISTRY_PROXY_PASSWORD=dckr_pat_SECRET\n",
    );
    for (const mirror of registryMirrors.filter((candidate) => candidate.registry !== "docker.io")) {
      assert.equal(fs.existsSync(path.join(dir, `env-${mirror.container}`)), false, mirror.container);
    }
    assert.ok(
      result.calls.every((call) => !call.includes("dckr_pat_SECRET") && !call.includes("demo-user")),
      result.calls.join("\n"),
    );
  });

  it("with DOCKER_HUB_USERNAME but no token, starts the Docker Hub mirror anonymously and says so", async () => {
    const result = await run("use_mirrors", { DOCKER_HUB_USERNAME: "demo-user" });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /^DOCKER_HUB_USERNAME is set without DOCKER_HUB_TOKEN: the Docker Hub mirror pulls anonymously$/m);
    assert.equal(fs.existsSync(path.join(dir, "env-gitops-mirror-docker-io")), false);
  });

  it("a mirror that cannot start leaves no node pointing at it, even one configured before", async () => {
    assert.equal((await run("use_mirrors")).status, 0);
    fs.rmSync(container("gitops-mirror-quay-io"));
    const result = await run("use_mirrors", { STUB_RUN_FAILS: "gitops-mirror-quay-io" });
    assert.equal(result.status, 0, result.stderr);
    for (const node of nodes) assert.equal(hostsToml(node, "quay.io"), undefined, node);
  });

  it("a mirror Docker says runs but that does not answer (restarting, offline) is not pointed at, and says why", async () => {
    assert.equal((await run("use_mirrors")).status, 0);
    const result = await run("use_mirrors", { STUB_RESTARTING: "gitops-mirror-docker-io" });
    assert.equal(result.status, 0, result.stderr);
    assert.match(
      result.stderr,
      /^mirror of docker\.io \(container gitops-mirror-docker-io\) runs but does not answer: it restarts while it cannot reach https:\/\/registry-1\.docker\.io \(is this machine offline\?\)$/m,
    );
    assert.match(result.stderr, /^the nodes pull from docker\.io directly$/m);
    for (const node of nodes) assert.equal(hostsToml(node, "docker.io"), undefined, node);
    for (const node of nodes) assert.notEqual(hostsToml(node, "ghcr.io"), undefined, node);
  });

  it("turned off, the nodes forget them; the mirrors keep running", async () => {
    assert.equal((await run("use_mirrors")).status, 0);
    const result = await run("forget_mirrors");
    assert.equal(result.status, 0, result.stderr);
    for (const mirror of registryMirrors) assert.equal(hostsToml(nodes[1]!, mirror.registry), undefined);
    assert.ok(fs.existsSync(container("gitops-mirror-docker-io")));
  });

  it("fails when the cluster has no nodes, saying how to start over", async () => {
    const result = await run('node_registry docker.io "server = \\"https://registry-1.docker.io\\""', { STUB_NODES: "" });
    assert.equal(result.status, 1);
    assert.match(
      result.stderr,
      /kind cluster "gitops-dev" has no nodes to configure\. Start over: npm run destroy -- dev, then npm run up -- dev/,
    );
  });

  it("are owned by no environment: nothing registered for them, and no script removes them", async () => {
    const evaluation = await evaluate("dev");
    assert.equal(evaluation.error, undefined);
    for (const registration of evaluation.registrations) {
      assert.doesNotMatch(registration.name, /mirror/);
      const deleteScript = typeof registration.inputs.delete === "string" ? registration.inputs.delete : "";
      assert.doesNotMatch(deleteScript, /mirror|MIRRORS/, registration.name);
    }
    const kind = evaluation.registrations.find((registration) => registration.name === "cluster-kind")!;
    assert.equal((kind.inputs.environment as Record<string, string>).USE_MIRRORS, "true");
  });
});
