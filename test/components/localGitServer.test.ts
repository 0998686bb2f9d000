// The LocalGitServer component under plain mocks, and its scripts run for real by bash: in a real
// Git checkout, against a stub `docker` that fails as the real one does, pushing to a real Git
// server (git http-backend) standing where the Soft Serve container answers on 127.0.0.1.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import * as command from "@pulumi/command";
import { LocalGitServer } from "../../infra/components/localGitServer.ts";
import { gitServerImage, localGitServer } from "../../infra/settings/index.ts";
import { runProcess } from "../helpers.ts";
import { build, type Built } from "../support/components.ts";
import { stubDocker } from "../support/dockerStub.ts";
import { startGitHttpServer, type GitHttpServer } from "../support/gitHttpServer.ts";
import { stubFolder } from "../support/stubFolder.ts";

const settings = localGitServer("gitops-dev", 3001, "gitops");

/** A Git checkout with one commit; `git` runs in it with a fixed identity. */
function checkout(): { dir: string; git(...args: string[]): string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "checkout-"));
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=demo", "-c", "user.email=demo@example.com", ...args], { cwd: dir, encoding: "utf8" }).trim();
  git("init", "--quiet", "--initial-branch", "work");
  fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), "config: {}\n");
  git("add", "-A");
  git("commit", "--quiet", "-m", "the demo");
  return { dir, git };
}

describe("the LocalGitServer component and its scripts", () => {
  let built: Built<LocalGitServer>;
  const container = () => built.only("command:local:Command", "git-server-container");
  const script = (name: "create" | "delete") => container().inputs[name] as string;
  before(async () => {
    built = await build(() => {
      const kindCluster = new command.local.Command("cluster-kind", { create: "true" });
      return new LocalGitServer("git-server", { ...settings, branch: "main", kindCluster, stack: "dev", workDir: "/projects/gitops" });
    });
  });

  it("starts after the kind cluster, is replaced (delete first) with it, and says the remote to add", () => {
    const kind = built.only("command:local:Command", "cluster-kind");
    assert.ok(container().dependencies.includes(kind.urn));
    assert.equal(container().deleteBeforeReplace, true);
    assert.deepEqual(container().inputs.triggers, ["gitops-dev-git", 3001, "main", gitServerImage, "cluster-kind-id"]);
    assert.equal(built.component.remote, "git remote add dev http://127.0.0.1:3001/gitops.git");
    assert.equal(
      built.component.description,
      "http://127.0.0.1:3001/gitops.git (container gitops-dev-git; Flux reads http://gitops-dev-git:23232/gitops.git)",
    );
  });

  let stubs: string;
  let repo: ReturnType<typeof checkout>;
  let server: GitHttpServer;
  beforeEach(async () => {
    stubs = stubFolder("git-server-stub-", { docker: stubDocker });
    repo = checkout();
    server = await startGitHttpServer();
  });
  afterEach(async () => {
    fs.rmSync(stubs, { recursive: true, force: true });
    fs.rmSync(repo.dir, { recursive: true, force: true });
    await server.close();
  });
  after(() => undefined);

  /** Runs a script as Pulumi would (interpreter, environment, the checkout as its folder), with the server's real port. */
  async function runScript(text: string, extra: Record<string, string> = {}) {
    const [shell, ...flags] = container().inputs.interpreter as string[];
    const environment = container().inputs.environment as Record<string, string>;
    const url = `http://127.0.0.1:${server.port}/gitops.git`;
    const result = await runProcess(shell!, [...flags, text], {
      cwd: repo.dir,
      env: {
        PATH: `${path.join(stubs, "bin")}:/usr/bin:/bin`,
        HOME: repo.dir,
        ...environment,
        GIT_PORT: String(server.port),
        GIT_HOST_URL: url,
        GIT_RETRY_SECONDS: "0",
        STUB_LOG: path.join(stubs, "calls"),
        STUB_DIR: stubs,
        ...extra,
      },
    });
    const calls = fs.existsSync(path.join(stubs, "calls")) ? fs.readFileSync(path.join(stubs, "calls"), "utf8").trim().split("\n") : [];
    return { ...result, calls, url };
  }
  const containerArgs = () => fs.readFileSync(path.join(stubs, "containers", "gitops-dev-git"), "utf8").trim();
  const containerExists = () => fs.existsSync(path.join(stubs, "containers", "gitops-dev-git"));

  describe("create", () => {
    it("starts the pinned server on kind's network, HTTP on 127.0.0.1 only, anonymous read-write", async () => {
      const result = await runScript(script("create"));
      assert.equal(result.status, 0, result.stderr);
      assert.equal(
        containerArgs(),
        `--detach --restart=always --name gitops-dev-git --network kind --label io.github.gitops-using-flux.owner=dev ${repo.dir} --log-opt max-size=10m ` +
          `--env SOFT_SERVE_ANON_ACCESS=read-write --env SOFT_SERVE_HTTP_PUBLIC_URL=http://127.0.0.1:${server.port} --publish 127.0.0.1:${server.port}:23232 ${gitServerImage}`,
      );
    });

    it("fills it with the checkout's HEAD on the branch, whatever branch is checked out, and says the remote to add", async () => {
      const head = repo.git("rev-parse", "HEAD");
      const result = await runScript(script("create"));
      assert.equal(result.status, 0, result.stderr);
      assert.equal(server.ref("gitops.git", "refs/heads/main"), head);
      assert.match(
        result.stderr,
        new RegExp(
          `^local Git server "gitops-dev-git" holds commit ${head.slice(0, 7)} on main: git remote add dev ${result.url.replace(/\./g, "\\.")}$`,
          "m",
        ),
      );
    });

    it("pushes only what is committed, and says so when there is more", async () => {
      const head = repo.git("rev-parse", "HEAD");
      fs.writeFileSync(path.join(repo.dir, "Pulumi.dev.yaml"), "config: {changed: true}\n");
      const result = await runScript(script("create"));
      assert.equal(result.status, 0, result.stderr);
      assert.equal(server.ref("gitops.git", "refs/heads/main"), head);
      assert.match(
        result.stderr,
        new RegExp(
          `^uncommitted changes \\(Pulumi\\.dev\\.yaml\\) are not pushed to the local Git server: it gets commit ${head.slice(0, 7)}; commit them, then git push dev HEAD:main \\(Pulumi writes a new stack's encryptionsalt into its stack file: commit that once too\\)$`,
          "m",
        ),
      );
    });

    it("refuses a folder that is not a Git repository with a commit, before anything starts (exit 1, one line)", async () => {
      fs.rmSync(path.join(repo.dir, ".git"), { recursive: true });
      const result = await runScript(script("create"));
      assert.equal(result.status, 1);
      assert.equal(
        result.stderr,
        "this project folder is not a Git repository with a commit, so the local Git server would have nothing to serve: git init && git add -A && git commit -m 'GitOps demo', then npm run up -- dev\n",
      );
      assert.deepEqual(result.calls, []);
    });

    it("refuses a shallow clone, whose history no server takes, before anything starts (exit 1, one line)", async () => {
      repo.git("commit", "--quiet", "--allow-empty", "-m", "a second commit");
      const shallow = fs.mkdtempSync(path.join(os.tmpdir(), "shallow-"));
      try {
        execFileSync("git", ["clone", "--quiet", "--depth", "1", `file://${repo.dir}`, shallow]);
        fs.rmSync(repo.dir, { recursive: true, force: true });
        fs.renameSync(shallow, repo.dir);
      } finally {
        fs.rmSync(shallow, { recursive: true, force: true });
      }
      const result = await runScript(script("create"));
      assert.equal(result.status, 1);
      assert.equal(
        result.stderr,
        "this checkout is shallow (git clone --depth), and a Git server cannot take a shallow history: git fetch --unshallow, then npm run up -- dev\n",
      );
      assert.deepEqual(result.calls, []);
    });

    it("a push the server refuses: exit 1, saying so, and the container is removed again", async () => {
      await server.close();
      server = await startGitHttpServer({ refusePushes: true });
      const result = await runScript(script("create"), { GIT_ATTEMPTS: "2" });
      assert.equal(result.status, 1);
      assert.match(result.stderr, /The requested URL returned error: 403/);
      assert.match(
        result.stderr,
        /^the local Git server does not take the push of this checkout to http:\/\/127\.0\.0\.1:\d+\/gitops\.git \(see above\)$/m,
      );
      assert.match(
        result.stderr,
        /^starting Git server "gitops-dev-git" failed \(exit 1\): removing it, so the next 'up' can start over$/m,
      );
      assert.equal(containerExists(), false);
    });

    it("a server that never answers (nothing listens on its port): exit 1 after the attempts, and the container is removed", async () => {
      await server.close();
      const result = await runScript(script("create"), { GIT_ATTEMPTS: "2" });
      assert.equal(result.status, 1);
      assert.match(result.stderr, /Failed to connect to 127\.0\.0\.1 port \d+/);
      assert.match(
        result.stderr,
        /^the local Git server does not take the push of this checkout to http:\/\/127\.0\.0\.1:\d+\/gitops\.git \(see above\)$/m,
      );
      assert.equal(containerExists(), false);
      server = await startGitHttpServer();
    });

    it("removes and starts again its own leftover of an interrupted up; refuses a container it did not start", async () => {
      assert.equal((await runScript(script("create"))).status, 0);
      const again = await runScript(script("create"));
      assert.equal(again.status, 0, again.stderr);
      assert.match(
        again.stderr,
        /^Git server container "gitops-dev-git" was left by an interrupted 'up' of stack "dev": removing it, then starting it again$/m,
      );
      fs.writeFileSync(path.join(stubs, "labels-gitops-dev-git"), "io.github.gitops-using-flux.owner=someone else\n");
      const foreign = await runScript(script("create"));
      assert.equal(foreign.status, 1);
      assert.match(
        foreign.stderr,
        /^a container named "gitops-dev-git" already exists, but stack "dev" of this project folder did not start it\. Remove it: docker rm -f gitops-dev-git$/m,
      );
      assert.equal(containerExists(), true, "the foreign container is left alone");
    });
  });

  it("delete removes the container and its volume, and succeeds when it is already gone", async () => {
    assert.equal((await runScript(script("create"))).status, 0);
    const deleted = await runScript(script("delete"));
    assert.equal(deleted.status, 0, deleted.stderr);
    assert.ok(deleted.calls.includes("docker rm --force --volumes gitops-dev-git"));
    assert.equal(containerExists(), false);
    assert.equal((await runScript(script("delete"))).status, 0);
  });
});
