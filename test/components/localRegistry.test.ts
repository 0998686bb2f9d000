// The LocalRegistry component under plain mocks, and its scripts run for real by bash against
// stub `docker` and `kind` executables that fail as the real ones do.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, before, beforeEach, describe, it } from "node:test";
import * as command from "@pulumi/command";
import { LocalRegistry } from "../../infra/components/localRegistry.ts";
import { localRegistry, registryImage } from "../../infra/settings/index.ts";
import { build, providerReference, type Built } from "../support/components.ts";
import { stubDocker, stubKindNodes as stubKind } from "../support/dockerStub.ts";
import { runProcess } from "../helpers.ts";
import { stubFolder } from "../support/stubFolder.ts";

const registry = localRegistry("gitops-dev", 5001);
// The server's image lives in the registry: the talk's image is pushed there under its path and tag.
const serverImage = { path: "ricoberger/gitops-using-flux", tag: "master-84e319d-1580380800" };
const seed = { from: "ricoberger/gitops-using-flux:master-84e319d", to: "ricoberger/gitops-using-flux:master-84e319d-1580380800" };

describe("the LocalRegistry component and its scripts", () => {
  let built: Built<LocalRegistry>;
  const container = () => built.only("command:local:Command", "registry-container");
  const script = (name: "create" | "update" | "delete") => container().inputs[name] as string;
  before(async () => {
    built = await build((cluster) => {
      const kindCluster = new command.local.Command("cluster-kind", { create: "true" });
      return new LocalRegistry("registry", {
        ...registry,
        serverImage,
        clusterName: "gitops-dev",
        kindCluster,
        stack: "dev",
        workDir: "/projects/gitops",
        cluster,
      });
    });
  });

  let dir: string;
  beforeEach(() => {
    dir = stubFolder("registry-stub-", { docker: stubDocker, kind: stubKind });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Runs a script as Pulumi would: the component's interpreter and environment, plus the stubs' settings. */
  async function runScript(text: string, stub: Record<string, string> = {}) {
    const [shell, ...flags] = container().inputs.interpreter as string[];
    const environment = container().inputs.environment as Record<string, string>;
    const result = await runProcess(shell!, [...flags, text], {
      cwd: dir,
      env: {
        PATH: `${path.join(dir, "bin")}:/usr/bin:/bin`,
        ...environment,
        STUB_LOG: path.join(dir, "calls"),
        STUB_DIR: dir,
        STUB_NODES: "gitops-dev-control-plane gitops-dev-worker",
        // The stub registry answers at once: no need to wait between attempts.
        REGISTRY_RETRY_SECONDS: "0",
        ...stub,
      },
    });
    const calls = fs.existsSync(path.join(dir, "calls")) ? fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n") : [];
    return { ...result, calls };
  }
  const containerExists = () => fs.existsSync(path.join(dir, "containers", "gitops-dev-registry"));
  const hostsToml = (node: string) =>
    fs.readFileSync(path.join(dir, "nodes", node, "etc/containerd/certs.d/gitops-dev-registry:5000/hosts.toml"), "utf8");

  describe("create", () => {
    it("starts the pinned registry on kind's network, published on 127.0.0.1 only", async () => {
      const result = await runScript(script("create"));
      assert.equal(result.status, 0, result.stderr);
      assert.equal(
        fs.readFileSync(path.join(dir, "containers", "gitops-dev-registry"), "utf8").trim(),
        `--detach --restart=always --name gitops-dev-registry --network kind --label io.github.gitops-using-flux.owner=dev ${dir} --log-opt max-size=10m --env OTEL_TRACES_EXPORTER=none --env REGISTRY_LOG_LEVEL=info --publish 127.0.0.1:5001:5000 ${registryImage}`,
      );
    });

    it("tells containerd on every node to pull <container>:5000 over plain HTTP", async () => {
      const result = await runScript(script("create"));
      assert.equal(result.status, 0, result.stderr);
      for (const node of ["gitops-dev-control-plane", "gitops-dev-worker"]) {
        assert.equal(hostsToml(node), '[host."http://gitops-dev-registry:5000"]\n  capabilities = ["pull", "resolve"]\n', node);
      }
    });

    it("pushes the talk's image under the stack's tag, pulling it (amd64) only when Docker lacks it", async () => {
      const first = await runScript(script("create"));
      assert.equal(first.status, 0, first.stderr);
      assert.deepEqual(
        first.calls.filter((call) => /^docker (pull|tag|push)/.test(call)),
        [
          "docker pull --platform linux/amd64 ricoberger/gitops-using-flux:master-84e319d",
          "docker tag ricoberger/gitops-using-flux:master-84e319d localhost:5001/ricoberger/gitops-using-flux:master-84e319d-1580380800",
          "docker push localhost:5001/ricoberger/gitops-using-flux:master-84e319d-1580380800",
        ],
      );
      fs.rmSync(path.join(dir, "calls"));
      const update = await runScript(script("update"));
      assert.equal(update.status, 0, update.stderr);
      assert.ok(!update.calls.some((call) => call.startsWith("docker pull")), update.calls.join("\n"));
    });

    it("retries the push while the new registry does not answer yet", async () => {
      const result = await runScript(script("create"), { STUB_PUSH_FAILS: "2" });
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.calls.filter((call) => call.startsWith("docker push")).length, 3);
    });

    it("refuses a container of that name it did not create, naming it and how to remove it", async () => {
      fs.mkdirSync(path.join(dir, "containers"));
      fs.writeFileSync(path.join(dir, "containers", "gitops-dev-registry"), "someone else's");
      const result = await runScript(script("create"));
      assert.equal(result.status, 1);
      assert.equal(
        result.stderr,
        'a container named "gitops-dev-registry" already exists, but stack "dev" of this project folder did not start it. Remove it: docker rm -f gitops-dev-registry\n',
      );
      assert.equal(fs.readFileSync(path.join(dir, "containers", "gitops-dev-registry"), "utf8"), "someone else's");
    });

    it("refuses one another stack, or this stack of another project folder, started", async () => {
      for (const owner of ["prod", `dev /elsewhere`]) {
        fs.mkdirSync(path.join(dir, "containers"), { recursive: true });
        fs.writeFileSync(path.join(dir, "containers", "gitops-dev-registry"), "run\n");
        fs.writeFileSync(path.join(dir, "labels-gitops-dev-registry"), `io.github.gitops-using-flux.owner=${owner}\n`);
        const result = await runScript(script("create"));
        assert.equal(result.status, 1, owner);
        assert.match(result.stderr, /did not start it/, owner);
      }
    });

    it("removes and starts again the container its own cancelled up left (SIGKILL: no trap ran)", async () => {
      // What a create killed right after docker run leaves: the container, labelled as this stack's.
      fs.mkdirSync(path.join(dir, "containers"));
      fs.writeFileSync(path.join(dir, "containers", "gitops-dev-registry"), "run\n");
      fs.writeFileSync(path.join(dir, "labels-gitops-dev-registry"), `io.github.gitops-using-flux.owner=dev ${dir}\n`);
      const result = await runScript(script("create"));
      assert.equal(result.status, 0, result.stderr);
      assert.match(
        result.stderr,
        /^registry container "gitops-dev-registry" was left by an interrupted 'up' of stack "dev": removing it, then starting it again$/m,
      );
      const docker = result.calls.filter((call) => call.startsWith("docker rm") || call.startsWith("docker run"));
      assert.deepEqual(
        docker.map((call) => call.split(" ").slice(0, 3).join(" ")),
        ["docker rm --force", "docker run --detach"],
      );
    });

    it("removes the container it made when anything after fails, and fails", async () => {
      const failures: Record<string, string>[] = [{ STUB_PORT_TAKEN: "5001" }, { STUB_PUSH_FAILS: "5" }, { STUB_NODES: "" }];
      for (const stub of failures) {
        fs.rmSync(path.join(dir, "containers"), { recursive: true, force: true });
        fs.rmSync(path.join(dir, "push-attempts"), { force: true });
        const result = await runScript(script("create"), stub);
        assert.notEqual(result.status, 0, JSON.stringify(stub));
        assert.match(result.stderr, /starting registry "gitops-dev-registry" failed \(exit \d+\): removing it/, JSON.stringify(stub));
        assert.equal(containerExists(), false, JSON.stringify(stub));
      }
    });

    it("says a cluster without nodes has nothing to configure, and how to start over", async () => {
      const result = await runScript(script("create"), { STUB_NODES: "" });
      assert.match(
        result.stderr,
        /kind cluster "gitops-dev" has no nodes to configure\. Start over: npm run destroy -- dev, then npm run up -- dev/,
      );
    });
  });

  describe("update", () => {
    it("says how to recover when the registry was removed outside Pulumi", async () => {
      const result = await runScript(script("update"));
      assert.equal(result.status, 1);
      assert.match(
        result.stderr,
        /registry container "gitops-dev-registry" is not running .* npm run destroy -- dev, then npm run up -- dev/,
      );
    });
  });

  describe("delete", () => {
    it("removes the container and its volume, and succeeds when it is already gone", async () => {
      assert.equal((await runScript(script("create"))).status, 0);
      const deleted = await runScript(script("delete"));
      assert.equal(deleted.status, 0);
      assert.ok(deleted.calls.includes("docker rm --force --volumes gitops-dev-registry"), deleted.calls.join("\n"));
      assert.equal(containerExists(), false);
      const again = await runScript(script("delete"));
      assert.equal(again.status, 0, again.stderr);
    });

    it("fails when Docker fails: Pulumi must not forget a running registry", async () => {
      assert.equal((await runScript(script("create"))).status, 0);
      const result = await runScript(script("delete"), { STUB_NO_DAEMON: "1" });
      assert.equal(result.status, 1);
      assert.match(result.stderr, /Cannot connect to the Docker daemon/);
      assert.equal(containerExists(), true);
    });
  });

  describe("the LocalRegistry component", () => {
    it("follows the kind cluster: created after it, replaced (deleting first) with it, on its name, port or image", () => {
      const kind = built.registrations.find((registration) => registration.name === "cluster-kind")!;
      assert.ok(container().dependencies.includes(kind.urn));
      assert.equal(container().deleteBeforeReplace, true);
      assert.deepEqual(container().inputs.triggers, ["gitops-dev-registry", 5001, registryImage, "cluster-kind-id"]);
      // Not deleted with the cluster: kind does not remove it.
      assert.equal(container().deletedWith, "");
    });

    it("runs in the project folder (with the stack, it says whose a container is)", () => {
      assert.equal(container().inputs.dir, "/projects/gitops");
    });

    it("passes its parameters in the environment, the seed too, so the scripts never change with them", () => {
      assert.deepEqual(container().inputs.environment, {
        REGISTRY_NAME: "gitops-dev-registry",
        REGISTRY_HOST: "gitops-dev-registry:5000",
        REGISTRY_PORT: "5001",
        REGISTRY_IMAGE: registryImage,
        REGISTRY_RETRY_SECONDS: "2",
        KIND_CLUSTER_NAME: "gitops-dev",
        PULUMI_STACK_NAME: "dev",
        BASH_ENV: "",
        SEED_FROM: seed.from,
        SEED_TO: seed.to,
      });
    });

    it("publishes KEP-1755's local-registry-hosting ConfigMap in kube-public, deleted with the cluster", () => {
      const configMap = built.only("kubernetes:core/v1:ConfigMap");
      assert.deepEqual(configMap.inputs.metadata, { name: "local-registry-hosting", namespace: "kube-public" });
      assert.deepEqual(configMap.inputs.data, {
        "localRegistryHosting.v1":
          'host: "localhost:5001"\nhostFromContainerRuntime: "gitops-dev-registry:5000"\nhostFromClusterNetwork: "gitops-dev-registry:5000"\nhelp: "https://kind.sigs.k8s.io/docs/user/local-registry/"\n',
      });
      assert.equal(configMap.provider, providerReference(built.cluster.provider));
      assert.equal(configMap.deletedWith, built.cluster.anchor.urn);
    });

    it("describes itself: the name images use, the container, and where to push", () => {
      assert.equal(built.component.description, "gitops-dev-registry:5000 (container gitops-dev-registry; push to localhost:5001)");
    });
  });
});
