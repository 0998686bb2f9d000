// The Machine boundary for real: this machine's probes, with stub programs on a PATH of their own.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import type { AddressInfo } from "node:net";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { dockerAnswers, kindClusters, localMachine } from "../tools/machine.ts";

/** A folder of stub programs (name → bash script body) and a machine whose PATH holds only them and the system's tools. */
function machineWithStubs(stubs: Record<string, string>) {
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), "machine-stubs-"));
  for (const [name, body] of Object.entries(stubs))
    fs.writeFileSync(path.join(bin, name), `#!/usr/bin/env bash\n${body}\n`, { mode: 0o755 });
  return {
    bin,
    // No probe timeout: these tests are about what a command says, never about how fast it says it.
    machine: localMachine(0, { PATH: `${bin}:/usr/bin:/bin` }),
    remove: () => fs.rmSync(bin, { recursive: true, force: true }),
  };
}

describe("this machine's probes", () => {
  it("tell a command that never answers (timed out) from one that failed or is missing", async () => {
    // `sleep infinity` outlasts any probe timeout, however busy the machine; the others have none.
    assert.deepEqual(await localMachine(300).run("sleep", ["infinity"]), {
      found: true,
      exitCode: null,
      timedOut: true,
      stdout: "",
      stderr: "",
    });
    assert.deepEqual(await localMachine(0).run("false", []), { found: true, exitCode: 1, timedOut: false, stdout: "", stderr: "" });
    assert.deepEqual(await localMachine(0).run("no-such-command-gitops", []), { found: false, exitCode: null, stdout: "", stderr: "" });
  });

  it("return what a command prints, with its exit code, and pass it its arguments", async () => {
    const stubs = machineWithStubs({ "gitops-echo": 'echo "args: $*"; echo "on stderr" >&2; exit "${STUB_EXIT:-0}"' });
    try {
      assert.deepEqual(await stubs.machine.run("gitops-echo", ["a b", "c"]), {
        found: true,
        exitCode: 0,
        stdout: "args: a b c\n",
        stderr: "on stderr\n",
      });
      const failing = localMachine(0, { PATH: `${stubs.bin}:/usr/bin:/bin`, STUB_EXIT: "3" });
      assert.deepEqual(await failing.run("gitops-echo", []), {
        found: true,
        exitCode: 3,
        timedOut: false,
        stdout: "args: \n",
        stderr: "on stderr\n",
      });
    } finally {
      stubs.remove();
    }
  });

  it("find commands on the PATH of the environment they are given, not this process's", async () => {
    const stubs = machineWithStubs({ "gitops-only-here": "echo here" });
    try {
      assert.equal((await stubs.machine.run("gitops-only-here", [])).found, true);
      assert.equal((await localMachine(0, process.env).run("gitops-only-here", [])).found, false);
    } finally {
      stubs.remove();
    }
  });

  it("read a file and list a directory; nothing for ones that do not exist", async () => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), "machine-files-"));
    try {
      fs.writeFileSync(path.join(directory, "max_user_watches"), "65536\n");
      const machine = localMachine(0);
      assert.equal(await machine.readFile(path.join(directory, "max_user_watches")), "65536\n");
      assert.deepEqual(await machine.listDirectory(directory), ["max_user_watches"]);
      assert.equal(await machine.readFile(path.join(directory, "missing")), undefined);
      assert.deepEqual(await machine.listDirectory(path.join(directory, "missing")), []);
    } finally {
      fs.rmSync(directory, { recursive: true, force: true });
    }
  });

  it("call a port something listens on not free; once it stops, free", async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    const machine = localMachine(0);
    try {
      assert.equal(await machine.portFree("127.0.0.1", port), false);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    assert.equal(await machine.portFree("127.0.0.1", port), true);
  });
});

describe("what kind and Docker say", () => {
  it("kindClusters lists the clusters `kind get clusters` prints, one a line", async () => {
    const stubs = machineWithStubs({ kind: '[ "$*" = "get clusters" ] || exit 9; printf "gitops-dev\\n\\n  gitops-prod  \\n"' });
    try {
      assert.deepEqual(await kindClusters(stubs.machine), ["gitops-dev", "gitops-prod"]);
    } finally {
      stubs.remove();
    }
  });

  it("kindClusters cannot tell (undefined) when kind fails or is missing, rather than saying none run", async () => {
    const failing = machineWithStubs({ kind: 'echo "ERROR: failed to list clusters" >&2; exit 1' });
    const missing = machineWithStubs({});
    try {
      assert.equal(await kindClusters(failing.machine), undefined);
      assert.equal(await kindClusters(missing.machine), undefined);
      const none = machineWithStubs({ kind: "exit 0" });
      assert.deepEqual(await kindClusters(none.machine), []);
      none.remove();
    } finally {
      failing.remove();
      missing.remove();
    }
  });

  it("dockerAnswers only when the daemon answers `docker info`, not when the client alone is there", async () => {
    const daemon = machineWithStubs({ docker: '[ "$1" = info ] && echo 28.2.2' });
    const clientOnly = machineWithStubs({
      docker: '[ "$1" = --version ] && echo "Docker version 28.2.2"; [ "$1" = info ] && exit 1; exit 0',
    });
    const missing = machineWithStubs({});
    try {
      assert.equal(await dockerAnswers(daemon.machine), true);
      assert.equal(await dockerAnswers(clientOnly.machine), false);
      assert.equal(await dockerAnswers(missing.machine), false);
    } finally {
      daemon.remove();
      clientOnly.remove();
      missing.remove();
    }
  });
});
