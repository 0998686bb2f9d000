// npm run mirrors -- status | down, and what doctor says of the mirrors: on a fake machine whose
// docker answers as Docker does for running, stopped and absent containers.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { registryMirrors } from "../infra/settings/index.ts";
import { localMachine, type CommandResult } from "../tools/machine.ts";
import { main, mirrorChecks, upstreamFetches } from "../tools/mirrors.ts";
import { stubDocker, stubKindNodes } from "./support/dockerStub.ts";
import { dockerFormat } from "./support/goTemplate.ts";
import { fakeMachine } from "./support/machine.ts";
import { captureIo } from "./helpers.ts";
import { stubFolder } from "./support/stubFolder.ts";

const usage = "usage: npm run mirrors -- status|up|down [--keep-cache]";

interface FakeMirror {
  readonly running: boolean;
  /** It keeps crashing: Docker restarts it (and has, this many times). */
  readonly restarting?: number;
  readonly env?: string[];
  readonly repositories?: string[];
  readonly kib?: number;
}

/** Docker with these mirror containers (by registry), or no daemon; every call recorded. */
function docker(mirrors: Record<string, FakeMirror>, options: { daemon?: boolean; files?: Record<string, string> } = {}) {
  const calls: string[] = [];
  const byContainer = new Map<string, FakeMirror | undefined>(
    registryMirrors.map((mirror) => [mirror.container, mirrors[mirror.registry]]),
  );
  const answer = (exitCode: number, stdout = ""): Promise<CommandResult> => Promise.resolve({ found: true, exitCode, stdout });
  const machine = fakeMachine((command, args) => {
    calls.push([command, ...args].join(" "));
    if (options.daemon === false) return answer(1);
    const [verb, ...rest] = args;
    const name = rest.at(-1)!;
    if (verb === "info") return answer(0, "28.2.2\n");
    if (verb === "container" && rest[0] === "inspect" && rest[1] === "--format") {
      // The container's inspect document, as Docker has it, rendered by the tool's own template.
      const mirror = byContainer.get(name);
      if (!mirror)
        return Promise.resolve({
          found: true,
          exitCode: 1,
          stdout: "\n",
          stderr: `Error response from daemon: No such container: ${name}\n`,
        });
      const inspected = {
        Name: `/${name}`,
        State: {
          Status: mirror.restarting ? "restarting" : mirror.running ? "running" : "exited",
          Running: mirror.running,
          Restarting: mirror.restarting !== undefined,
        },
        RestartCount: mirror.restarting ?? 0,
        Config: { Env: [...(mirror.env ?? []), "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] },
      };
      return answer(0, dockerFormat(rest[2]!, inspected));
    }
    if (verb === "exec" && rest[1] === "wget")
      return answer(0, JSON.stringify({ repositories: byContainer.get(rest[0]!)?.repositories ?? [] }));
    if (verb === "exec" && rest[1] === "du") return answer(0, `${byContainer.get(rest[0]!)?.kib ?? 0}\t/var/lib/registry\n`);
    if (verb === "rm" || verb === "volume") return answer(0);
    return answer(2);
  }, options.files);
  return { machine, calls };
}

const allRunning: Record<string, FakeMirror> = {
  "docker.io": {
    running: true,
    env: ["REGISTRY_PROXY_USERNAME=demo", "REGISTRY_PROXY_PASSWORD=dckr_pat"],
    repositories: ["ricoberger/gitops-using-flux", "library/busybox"],
    kib: 10240,
  },
  "ghcr.io": { running: true, repositories: ["fluxcd/source-controller"], kib: 51200 },
  "quay.io": { running: false },
};

describe("npm run mirrors", () => {
  it("status: each mirror's state, how many images it holds and how big, and whether Docker Hub's pulls as a user", async () => {
    const io = captureIo();
    assert.equal(await main(["status"], io, docker(allRunning).machine), 0, io.err());
    assert.equal(
      io.out(),
      [
        "registry         container                      state               images  size",
        "docker.io        gitops-mirror-docker-io        running, as a user  2       10.0 MiB",
        "ghcr.io          gitops-mirror-ghcr-io          running             1       50.0 MiB",
        "quay.io          gitops-mirror-quay-io          stopped             -       -",
        "registry.k8s.io  gitops-mirror-registry-k8s-io  absent              -       -",
        "",
      ].join("\n"),
    );
  });

  it("status: a mirror that keeps restarting says so, with how often", async () => {
    const io = captureIo();
    assert.equal(await main(["status"], io, docker({ ...allRunning, "ghcr.io": { running: true, restarting: 7 } }).machine), 0, io.err());
    assert.match(io.out(), /^ghcr\.io +gitops-mirror-ghcr-io +restarting \(7 restarts\) +- +-$/m);
  });

  it("down: removes every mirror there is and its cache; --keep-cache keeps the caches", async () => {
    const fake = docker(allRunning);
    const io = captureIo();
    assert.equal(await main(["down"], io, fake.machine), 0, io.err());
    assert.deepEqual(
      fake.calls.filter((call) => /^docker (rm|volume)/.test(call)),
      [
        "docker rm --force gitops-mirror-docker-io",
        "docker volume rm --force gitops-mirror-docker-io",
        "docker rm --force gitops-mirror-ghcr-io",
        "docker volume rm --force gitops-mirror-ghcr-io",
        "docker rm --force gitops-mirror-quay-io",
        "docker volume rm --force gitops-mirror-quay-io",
        "docker volume rm --force gitops-mirror-registry-k8s-io",
      ],
    );
    assert.match(
      io.err(),
      /^gitops: the mirrors are gone, caches too; running clusters pull directly until npm run mirrors -- up \(or a new cluster's up\) starts them again$/m,
    );
    const keeping = docker(allRunning);
    assert.equal(await main(["down", "--keep-cache"], captureIo(), keeping.machine), 0);
    assert.ok(!keeping.calls.some((call) => call.startsWith("docker volume")), keeping.calls.join("\n"));
  });

  it("says Docker does not answer (exit 1), and refuses anything but status and down (exit 2, with the usage)", async () => {
    const io = captureIo();
    assert.equal(await main(["status"], io, docker({}, { daemon: false }).machine), 1);
    assert.equal(io.err(), "gitops: Docker does not answer (docker info): start Docker, or install it (npm run doctor)\n");
    for (const [argv, message] of [
      [[], "status, up or down?"],
      [["start"], "unknown command start"],
    ] as const) {
      const usageIo = captureIo();
      assert.equal(await main([...argv], usageIo, docker({}).machine), 2);
      assert.equal(usageIo.err(), `gitops: ${message}\n${usage}\n`);
    }
  });
});

describe("npm run mirrors -- up (bash and a stub docker, as a real machine runs it)", () => {
  /** Runs `mirrors up` on this machine with the stub docker first on PATH. */
  async function up(stub: Record<string, string> = {}) {
    const dir = stubFolder("mirrors-up-", { docker: stubDocker, kind: stubKindNodes });
    try {
      fs.mkdirSync(path.join(dir, "containers"));
      fs.writeFileSync(path.join(dir, "containers", "gitops-mirror-ghcr-io"), "made by an earlier up\nstopped\n");
      const env = {
        PATH: `${path.join(dir, "bin")}:/usr/bin:/bin`,
        STUB_LOG: path.join(dir, "calls"),
        STUB_DIR: dir,
        MIRROR_START_SECONDS: "0",
        ...stub,
      };
      const io = captureIo({ env });
      const code = await main(["up"], io, localMachine(30_000, env));
      const running = fs.readdirSync(path.join(dir, "containers")).filter(
        (name) =>
          !fs
            .readFileSync(path.join(dir, "containers", name), "utf8")
            .split("\n")
            .includes("stopped"),
      );
      // The nodes' hosts.toml files the bash wrote, as "<node> <registry>".
      const nodes = path.join(dir, "nodes");
      const configured = fs.existsSync(nodes)
        ? fs
            .readdirSync(nodes)
            .flatMap((node) => fs.readdirSync(path.join(nodes, node, "etc/containerd/certs.d")).map((registry) => `${node} ${registry}`))
        : [];
      return { code, err: io.err(), running: running.sort(), configured };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  it("starts the mirrors that are gone or stopped, with the function a new cluster's up uses", async () => {
    const result = await up();
    assert.equal(result.code, 0, result.err);
    assert.deepEqual(result.running, registryMirrors.map((mirror) => mirror.container).sort());
    assert.match(result.err, /^gitops: the mirrors run$/m);
  });

  it("points the nodes of every running cluster whose environment uses the mirrors at them again", async () => {
    // dev's cluster runs (made while a mirror was down, say); prod's does not.
    const result = await up({ STUB_CLUSTERS: "gitops-dev", STUB_NODES: "gitops-dev-control-plane" });
    assert.equal(result.code, 0, result.err);
    assert.match(result.err, /^gitops: the mirrors run; the nodes of gitops-dev pull through them$/m);
    assert.deepEqual(result.configured.sort(), registryMirrors.map((mirror) => `gitops-dev-control-plane ${mirror.registry}`).sort());
  });

  it("says what did not start, and exits 1", async () => {
    const result = await up({ STUB_RUN_FAILS: "gitops-mirror-quay-io" });
    assert.equal(result.code, 1);
    assert.match(
      result.err,
      /^mirror of quay\.io \(container gitops-mirror-quay-io\) did not start: docker: Error response from daemon: toomanyrequests/m,
    );
    assert.match(result.err, /^gitops: not every mirror started, or not every cluster follows them \(above\)$/m);
  });

  it("without a kind network yet (no cluster was ever made), leaves it to the first up", async () => {
    const result = await up({ STUB_NO_KIND_NETWORK: "1" });
    assert.equal(result.code, 1);
    assert.match(result.err, /^gitops: there is no kind network yet: the first npm run up starts the mirrors with its cluster$/m);
  });
});

describe("what doctor says of the mirrors", () => {
  const loggedIn = {
    "/home/demo/.docker/config.json": JSON.stringify({ auths: { "https://index.docker.io/v1/": {} }, credsStore: "desktop" }),
  };

  it("running, the Docker Hub one as a user, and this machine logged in: one ok line", async () => {
    const results = await mirrorChecks(docker(allRunning, { files: loggedIn }).machine, { HOME: "/home/demo" });
    assert.deepEqual(results, [
      { name: "mirrors", status: "ok", detail: "2 of 4 running (docker.io, ghcr.io): npm run mirrors -- status" },
    ]);
  });

  it("an anonymous Docker Hub mirror: a warning that says how to hand it credentials, without writing them anywhere", async () => {
    // A user name without a password counts as anonymous.
    const anonymous = { ...allRunning, "docker.io": { running: true, env: ["REGISTRY_PROXY_USERNAME=demo", "REGISTRY_PROXY_PASSWORD="] } };
    const [, warning] = await mirrorChecks(docker(anonymous, { files: loggedIn }).machine, { HOME: "/home/demo" });
    assert.deepEqual(warning, {
      name: "dockerhub",
      status: "warn",
      detail:
        "the Docker Hub mirror pulls from Docker Hub anonymously: 10 pulls per hour per IP address — export DOCKER_HUB_USERNAME and DOCKER_HUB_TOKEN (a read-only access token), then npm run mirrors -- down and npm run mirrors -- up, so the mirror pulls as you; nothing is written into the project",
    });
  });

  it("not started, with the credentials exported but no docker login: says to log in, reading DOCKER_CONFIG", async () => {
    const results = await mirrorChecks(docker({}, { files: { "/etc/docker-config/config.json": '{"auths": {}}' } }).machine, {
      DOCKER_CONFIG: "/etc/docker-config",
      DOCKER_HUB_USERNAME: "demo",
    });
    assert.deepEqual(results, [
      { name: "mirrors", status: "ok", detail: "not started yet: the next npm run up starts them (npm run mirrors -- status)" },
      {
        name: "dockerhub",
        status: "warn",
        detail:
          "this machine pulls from Docker Hub anonymously: 10 pulls per hour per IP address — docker login (for this machine's own pulls)",
      },
    ]);
  });

  it("a mirror that keeps restarting (offline): a warning naming it, its upstream, and what to run once online", async () => {
    const offline = { ...allRunning, "ghcr.io": { running: true, restarting: 7 } };
    const results = await mirrorChecks(docker(offline, { files: loggedIn }).machine, { HOME: "/home/demo" });
    assert.deepEqual(results, [
      { name: "mirrors", status: "ok", detail: "1 of 4 running (docker.io): npm run mirrors -- status" },
      {
        name: "mirrors",
        status: "warn",
        detail:
          "the mirror of ghcr.io keeps restarting (7 restarts): it cannot reach https://ghcr.io (is this machine offline?), so the nodes pull from it directly — once online it starts by itself; then npm run mirrors -- up points the clusters' nodes at it again",
      },
    ]);
  });

  it("says nothing when Docker does not answer (the docker check says so)", async () => {
    assert.deepEqual(await mirrorChecks(docker({}, { daemon: false }).machine, {}), []);
  });
});

describe("what the mirrors fetched from upstream (for the e2e suite's cold and warm up)", () => {
  it("reads each running mirror's cache misses from its metrics; nothing for one that does not answer", async () => {
    const calls: string[] = [];
    const metrics = [
      "# HELP registry_proxy_misses_total The number of total proxy request misses",
      "# TYPE registry_proxy_misses_total counter",
      'registry_proxy_misses_total{type="blob"} 14',
      'registry_proxy_misses_total{type="manifest"} 3',
      'registry_proxy_hits_total{type="blob"} 40',
    ].join("\n");
    const machine = fakeMachine((command, args) => {
      calls.push([command, ...args].join(" "));
      const running = args[1] === "gitops-mirror-docker-io" || args[1] === "gitops-mirror-quay-io";
      return Promise.resolve({ found: true, exitCode: running ? 0 : 1, stdout: running ? (args[1]!.includes("quay") ? "" : metrics) : "" });
    });
    assert.deepEqual(await upstreamFetches(machine), {
      "docker.io": { manifests: 3, blobs: 14 },
      "ghcr.io": undefined,
      "quay.io": { manifests: 0, blobs: 0 },
      "registry.k8s.io": undefined,
    });
    assert.ok(calls.includes("docker exec gitops-mirror-docker-io wget -qO- http://127.0.0.1:5001/metrics"), calls.join("\n"));
  });
});
