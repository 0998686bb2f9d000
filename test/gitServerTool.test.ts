// What destroy says before it deletes a local Git server that holds commits this checkout does
// not have (Flux's image updates): against a real checkout and a real Git server (git http-backend).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { describe, it } from "node:test";
import { localMachine, type Machine } from "../tools/machine.ts";
import { startGitHttpServer } from "./support/gitHttpServer.ts";
import { machine, withFixture } from "./support/lifecycle.ts";

const run = promisify(execFile);
const git = (cwd: string, ...args: string[]) =>
  run("git", ["-c", "user.name=demo", "-c", "user.email=demo@example.com", ...args], {
    cwd,
    env: { ...process.env, GIT_TERMINAL_PROMPT: "0" },
  });

/** The lifecycle's fake machine (the cluster runs), with the real git. */
function withRealGit(): Machine {
  const fake = machine({ clusters: ["gitops-dev"] });
  const real = localMachine();
  return { ...fake, run: (command, args) => (command === "git" ? real.run(command, args) : fake.run(command, args)) };
}

describe("npm run up and destroy of an environment with its local Git server", () => {
  it(
    "destroy says first when the server holds a commit this checkout does not have; up, when HEAD does not contain it; neither once pulled",
    withFixture(async ({ project, lifecycle }) => {
      const server = await startGitHttpServer();
      const other = fs.mkdtempSync(path.join(os.tmpdir(), "other-clone-"));
      try {
        const url = `http://127.0.0.1:${server.port}/gitops.git`;
        const stackFile = path.join(project.root, "Pulumi.dev.yaml");
        fs.writeFileSync(
          stackFile,
          fs
            .readFileSync(stackFile, "utf8")
            .replace("    gitServer:\n      enabled: true\n", `    gitServer:\n      enabled: true\n      hostPort: ${server.port}\n`),
        );
        await git(project.root, "init", "--quiet");
        await git(project.root, "add", "-A");
        await git(project.root, "commit", "--quiet", "-m", "the demo");
        await git(project.root, "push", "--quiet", url, "HEAD:refs/heads/main");
        assert.equal((await lifecycle(["up", "dev", "--yes", "--no-preflight"])).code, 0);

        const inSync = await lifecycle(["destroy", "dev", "--yes", "--no-preflight"], { machine: withRealGit() });
        assert.equal(inSync.code, 0, inSync.stderr);
        assert.doesNotMatch(inSync.stderr, /local Git server holds/);

        // Flux's image update, as a commit made elsewhere.
        await git(other, "clone", "--quiet", "--branch", "main", url, ".");
        fs.writeFileSync(path.join(other, "Pulumi.dev.yaml"), "config: {}\n");
        await git(other, "commit", "--quiet", "-am", "[dev] Update images");
        await git(other, "push", "--quiet", "origin", "HEAD:refs/heads/main");
        const flux = server.ref("gitops.git", "refs/heads/main")!;

        assert.equal((await lifecycle(["up", "dev", "--yes", "--no-preflight"])).code, 0);
        const behind = await lifecycle(["destroy", "dev", "--yes", "--no-preflight"], { machine: withRealGit() });
        assert.equal(behind.code, 0, behind.stderr);
        assert.match(
          behind.stderr,
          new RegExp(
            `^gitops: warning: dev: the local Git server holds commit ${flux.slice(0, 7)} on main, which this checkout does not have \\(Flux's image updates\\): destroy deletes it with the server\\. To keep it, first: git pull --autostash dev main$`,
            "m",
          ),
        );

        // up applies this checkout's stack file: it says so while Flux's commit is not in HEAD, fetched or not.
        const unmerged = new RegExp(
          `^gitops: warning: dev: the local Git server holds commit ${flux.slice(0, 7)} on main, which this checkout's HEAD does not contain \\(Flux's image updates\\?\\): this up applies the stack file as it is here, without it\\. To roll it out: git pull --autostash dev main, then npm run up -- dev$`,
          "m",
        );
        const notPulled = await lifecycle(["up", "dev", "--yes", "--no-preflight"], { machine: withRealGit() });
        assert.equal(notPulled.code, 0, notPulled.stderr);
        assert.match(notPulled.stderr, unmerged);

        await git(project.root, "fetch", "--quiet", url, "main");
        const fetched = await lifecycle(["up", "dev", "--yes", "--no-preflight"], { machine: withRealGit() });
        assert.match(fetched.stderr, unmerged);
        // Fetched, it is kept: destroy has nothing to warn about.
        const pulled = await lifecycle(["destroy", "dev", "--yes", "--no-preflight"], { machine: withRealGit() });
        assert.doesNotMatch(pulled.stderr, /local Git server holds/);

        await git(project.root, "merge", "--quiet", "--ff-only", "FETCH_HEAD");
        const merged = await lifecycle(["up", "dev", "--yes", "--no-preflight"], { machine: withRealGit() });
        assert.doesNotMatch(merged.stderr, /local Git server holds/);
      } finally {
        await server.close();
        fs.rmSync(other, { recursive: true, force: true });
      }
    }),
  );
});
