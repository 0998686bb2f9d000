// The docker stand-ins fail as Docker does (test/support/dockerStub.ts for the scripts,
// test/support/goTemplate.ts for --format): a stand-in that succeeds where Docker fails would let
// a script's bug through.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { stubDocker } from "./support/dockerStub.ts";
import { dockerFormat } from "./support/goTemplate.ts";

/** Runs the stub docker in a folder of its own: `running` and `stopped` containers exist. */
function docker(args: string[], containers: { running?: string[]; stopped?: string[] } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "docker-stub-"));
  try {
    fs.writeFileSync(path.join(dir, "docker"), stubDocker, { mode: 0o755 });
    fs.mkdirSync(path.join(dir, "containers"));
    for (const name of containers.running ?? []) fs.writeFileSync(path.join(dir, "containers", name), "run\n");
    for (const name of containers.stopped ?? []) fs.writeFileSync(path.join(dir, "containers", name), "run\nstopped\n");
    const result = spawnSync(path.join(dir, "docker"), args, {
      encoding: "utf8",
      env: { PATH: "/usr/bin:/bin", STUB_DIR: dir, STUB_LOG: path.join(dir, "calls") },
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, left: fs.readdirSync(path.join(dir, "containers")) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe("the docker stand-ins, as Docker", () => {
  it("rm without --force refuses a missing or a running container, in the daemon's words; removes a stopped one", () => {
    assert.deepEqual(docker(["rm", "gone"]), {
      status: 1,
      stdout: "",
      stderr: "Error response from daemon: No such container: gone\n",
      left: [],
    });
    assert.deepEqual(docker(["rm", "registry"], { running: ["registry"] }), {
      status: 1,
      stdout: "",
      stderr:
        'Error response from daemon: cannot remove container "registry": container is running: stop the container before removing or force remove\n',
      left: ["registry"],
    });
    assert.deepEqual(docker(["rm", "registry"], { stopped: ["registry"] }), { status: 0, stdout: "registry\n", stderr: "", left: [] });
  });

  it("rm --force removes a running container, and succeeds for a missing one (docker/cli#2678)", () => {
    assert.deepEqual(docker(["rm", "--force", "registry"], { running: ["registry"] }), {
      status: 0,
      stdout: "registry\n",
      stderr: "",
      left: [],
    });
    assert.equal(docker(["rm", "-f", "gone"]).status, 0);
  });

  it("inspect --format answers the scripts' template, and refuses one it does not model", () => {
    assert.equal(docker(["container", "inspect", "--format", "{{.State.Running}}", "r"], { stopped: ["r"] }).stdout, "false\n");
    assert.equal(docker(["container", "inspect", "--format", "{{.State.Status}}", "r"], { running: ["r"] }).status, 64);
    assert.equal(docker(["container", "inspect", "--format", "{{.State.Running}}", "gone"]).status, 1);
  });

  it("renders --format templates as Go's text/template does over the inspect JSON", () => {
    const container = { State: { Running: true }, Config: { Env: ["A=1", "B=two"] } };
    assert.equal(dockerFormat("{{.State.Running}}", container), "true\n");
    assert.equal(dockerFormat("{{.State.Running}} {{range .Config.Env}}{{.}} {{end}}", container), "true A=1 B=two \n");
    assert.equal(dockerFormat("{{.Config.Env}}", container), "[A=1 B=two]\n");
    assert.equal(dockerFormat("{{.State.Paused}}", container), "<no value>\n");
    assert.throws(() => dockerFormat("{{json .State}}", container), /not modelled/);
    assert.throws(() => dockerFormat("{{range .Config.Env}}{{.}}", container), /unexpected EOF/);
  });
});
