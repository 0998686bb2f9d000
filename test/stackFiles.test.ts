// Stack files (and a flux-values.yaml left from the flux2 chart) as users break them: every tool (render, up/preview/destroy,
// sync, doctor) says what is wrong in one clear error naming the file and line, exits 1, and
// shows no stack trace; names that would lead out of the project are refused; two
// environments that would fight over a cluster or a port are found before anything runs.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { main as doctor } from "../tools/doctor.ts";
import { clashes, loadEnvironment } from "../tools/environments.ts";
import { main as lifecycle } from "../tools/lifecycle.ts";
import type { Machine } from "../tools/machine.ts";
import { loadStackConfig, StackNotFoundError } from "../tools/offline/stackConfig.ts";
import { main as release } from "../tools/release.ts";
import { main as render } from "../tools/render.ts";
import { main as sync } from "../tools/sync.ts";
import { captureIo, projectCopy } from "./helpers.ts";

/** A machine where every check passes, so only the environments' own problems show. */
const readyMachine: Machine = {
  platform: "linux",
  arch: "x64",
  nodeVersion: "v22.23.3",
  run: (command, args) => {
    const out: Record<string, string> = {
      "pulumi version": "v3.270.0",
      "docker info --format {{.ServerVersion}}": "28.2.2",
      "kind version": "kind v0.32.0",
      "kind get clusters": "",
      "kubectl version --client": "Client Version: v1.36.1",
    };
    const stdout = out[[command, ...args].join(" ")];
    return Promise.resolve(stdout === undefined ? { found: false, exitCode: null, stdout: "" } : { found: true, exitCode: 0, stdout });
  },
  readFile: (file) => Promise.resolve(file.includes("inotify") ? "524288" : undefined),
  listDirectory: () => Promise.resolve([]),
  portFree: () => Promise.resolve(true),
};

/** Runs each tool on a project copy with `files` replaced; returns each tool's exit code and stderr. */
async function everyTool(files: Record<string, string>, env = "dev") {
  const copy = projectCopy(files);
  try {
    const run = async (name: string, call: (io: ReturnType<typeof captureIo>) => Promise<number>) => {
      const io = captureIo({ root: copy.root, env: { ...process.env, PATH: "/usr/bin:/bin" } });
      return { name, code: await call(io), stderr: io.err() };
    };
    return [
      await run("render", (io) => render([env], io)),
      await run("up", (io) => lifecycle(["up", env, "--no-preflight"], io, { machine: readyMachine })),
      await run("preview", (io) => lifecycle(["preview", env, "--no-preflight"], io, { machine: readyMachine })),
      await run("destroy", (io) => lifecycle(["destroy", env, "--no-preflight"], io, { machine: readyMachine })),
      await run("sync", (io) => sync([env], io, { machine: readyMachine })),
      await run("doctor", (io) => doctor([env], io, readyMachine)),
    ];
  } finally {
    copy.remove();
  }
}

const shipped = (file: string) => fs.readFileSync(path.join(import.meta.dirname, "..", file), "utf8");

describe("an unreadable stack file, or a flux-values.yaml left behind", () => {
  const broken: [string, Record<string, string>, RegExp][] = [
    [
      "bad indentation",
      { "Pulumi.dev.yaml": "config:\n  gitops:server:\n      replicas: 3\n    logLevel: info\n" },
      /^gitops: Pulumi\.dev\.yaml:4:\d+: .* — must be valid YAML$/m,
    ],
    [
      "a duplicate key",
      { "Pulumi.dev.yaml": "config:\n  gitops:server:\n    replicas: 3\n    replicas: 4\n" },
      /^gitops: Pulumi\.dev\.yaml:4:5: Map keys must be unique — must be valid YAML$/m,
    ],
    [
      "an alias bomb",
      {
        "Pulumi.dev.yaml": `a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\nconfig: {}\n`,
      },
      /^gitops: Pulumi\.dev\.yaml: could not be read: .*alias.* — must be valid YAML$/im,
    ],
    [
      "very deep nesting",
      { "Pulumi.dev.yaml": `config: ${"[".repeat(20000)}${"]".repeat(20000)}\n` },
      /^gitops: Pulumi\.dev\.yaml.* — must be valid YAML|config: must be a mapping/m,
    ],
    [
      "an alias inside its own anchor",
      { "Pulumi.dev.yaml": "config: &a\n  gitops:server: *a\n" },
      /^gitops: Pulumi\.dev\.yaml: an alias refers to a value that contains it — must be valid YAML$/m,
    ],
    [
      "a list",
      { "Pulumi.dev.yaml": "- config:\n    gitops:server: {}\n" },
      /^gitops: Pulumi\.dev\.yaml: must be a mapping with a config: section \(it is a list\)$/m,
    ],
    [
      "a scalar file",
      { "Pulumi.dev.yaml": "just text\n" },
      /^gitops: Pulumi\.dev\.yaml: must be a mapping with a config: section \(it is a single value\)$/m,
    ],
    [
      "config: that is not a mapping",
      { "Pulumi.dev.yaml": "config: [a, b]\n" },
      /^gitops: Pulumi\.dev\.yaml: config: must be a mapping of settings such as gitops:server \(it is a list\)$/m,
    ],
    [
      "a misspelt config: key",
      { "Pulumi.dev.yaml": shipped("Pulumi.dev.yaml").replace("config:", "confg:") },
      /^gitops: Pulumi\.dev\.yaml: confg: — not a key of a stack file: did you mean config:\?/m,
    ],
    [
      "a flux-values.yaml left from the flux2 chart",
      { "stacks/dev/flux-values.yaml": "logLevel: debug\n  oops: [\n" },
      /stacks\/dev\/flux-values\.yaml: flux2 chart values are no longer read — .* set flux\.logLevel .* then delete the file/m,
    ],
  ];

  for (const [what, files, message] of broken) {
    it(`${what}: every tool says so in one clear error and exits 1, with no stack trace`, async () => {
      for (const result of await everyTool(files)) {
        assert.equal(result.code, 1, `${result.name}: ${result.stderr}`);
        assert.match(result.stderr, message, result.name);
        assert.doesNotMatch(result.stderr, /^\s+at /m, `${result.name} printed a stack trace`);
      }
    });
  }
});

describe("stack names", () => {
  it("refuses names that would lead out of the project, in every tool, in the same words (exit 2)", async () => {
    const tools: [string, (name: string, io: ReturnType<typeof captureIo>) => Promise<number>][] = [
      ["render", (name, io) => render([name], io)],
      ["up", (name, io) => lifecycle(["up", name], io, { machine: readyMachine })],
      ["preview", (name, io) => lifecycle(["preview", name], io, { machine: readyMachine })],
      ["destroy", (name, io) => lifecycle(["destroy", name], io, { machine: readyMachine })],
      ["sync", (name, io) => sync([name], io, { machine: readyMachine })],
      ["release", (name, io) => release([name], io)],
      ["doctor", (name, io) => doctor([name], io, readyMachine)],
    ];
    for (const name of ["../etc/passwd", "a/b", "..", ""]) {
      assert.throws(() => loadStackConfig(name), StackNotFoundError);
      for (const [tool, run] of tools) {
        const io = captureIo();
        assert.equal(await run(name, io), 2, `${tool} ${name}`);
        assert.equal(
          io.err().split("\n")[0],
          `gitops: no environment ${JSON.stringify(name)}: ${JSON.stringify(name)} is not a stack name: letters, digits, '-', '_' and '.', at most 100 (Pulumi's rule)`,
          tool,
        );
      }
    }
  });

  it("names a missing environment in every tool in the same words, with the ones there are (exit 2)", async () => {
    const expected = 'gitops: no environment "qa": Pulumi.qa.yaml does not exist (environments: dev, prod)';
    for (const [tool, run] of [
      ["up", (io: ReturnType<typeof captureIo>) => lifecycle(["up", "qa"], io, { machine: readyMachine })],
      ["render", (io: ReturnType<typeof captureIo>) => render(["qa"], io)],
      ["doctor", (io: ReturnType<typeof captureIo>) => doctor(["qa"], io, readyMachine)],
      ["release", (io: ReturnType<typeof captureIo>) => release(["qa"], io)],
    ] as const) {
      const io = captureIo();
      assert.equal(await run(io), 2, tool);
      assert.equal(io.err().split("\n")[0], expected, tool);
    }
  });

  it("reads a stack file that Pulumi itself reads: YAML merge keys, and secure: values at any depth", () => {
    const copy = projectCopy({
      "Pulumi.qa.yaml": [
        "x-defaults: &defaults",
        "  replicas: 2",
        "config:",
        "  gitops:server:",
        "    <<: *defaults",
        "    logLevel: warn",
        "  gitops:git:",
        "    url: https://github.com/acme/demo",
        "    knownHosts:",
        "      secure: v1:abc:def",
        "",
      ].join("\n"),
    });
    try {
      const config = loadStackConfig("qa", copy.root);
      assert.deepEqual(JSON.parse(config.config["gitops:server"]!), { replicas: 2, logLevel: "warn" });
      assert.deepEqual(config.secretKeys, ["gitops:git"]);
      assert.deepEqual(config.warnings, [
        "Pulumi.qa.yaml: x-defaults: is not a key of a stack file; Pulumi ignores it (keys: config, secretsprovider, encryptedkey, encryptionsalt, environment)",
      ]);
    } finally {
      copy.remove();
    }
  });
});

describe("two environments that would fight", () => {
  /** prod on dev's kind cluster (and so on its registry's name). */
  const twin = (extra = "") => shipped("Pulumi.prod.yaml").replaceAll("gitops-prod", "gitops-dev") + extra;

  it("doctor finds two environments on one kind cluster name, and on one host port", async () => {
    const ports = "    extraPortMappings:\n      - containerPort: 30080\n        hostPort: 18080\n";
    const copy = projectCopy({
      "Pulumi.prod.yaml": twin().replace("    workers: 2\n", `    workers: 2\n${ports}`),
      "Pulumi.dev.yaml": shipped("Pulumi.dev.yaml").replace("    name: gitops-dev\n", `    name: gitops-dev\n${ports}`),
    });
    try {
      const io = captureIo({ root: copy.root });
      assert.equal(await doctor([], io, readyMachine), 1);
      assert.match(
        io.err(),
        /^FAIL {2}clash {4}dev and prod both use the kind cluster gitops-dev \(and its kubeconfig \.kube\/gitops-dev\.yaml\): give one another cluster\.name$/m,
      );
      assert.match(
        io.err(),
        /^FAIL {2}clash {4}dev and prod both map TCP port 18080 on 127\.0\.0\.1: change one's cluster\.extraPortMappings$/m,
      );
    } finally {
      copy.remove();
    }
  });

  /** The clashes between dev and prod with these stack files. */
  const check = (dev: string, prod: string) => {
    const copy = projectCopy({ "Pulumi.dev.yaml": dev, "Pulumi.prod.yaml": prod });
    try {
      return clashes(["dev", "prod"].map((name) => loadEnvironment(name, copy.root))).map((clash) => clash.message);
    } finally {
      copy.remove();
    }
  };

  it("local registries: two on one host port clash, as does one on a port another's mapping takes; the shipped ports do not", () => {
    // Both shipped stack files turn their registry on, each on its own port.
    const registryOn = (file: string) => {
      const text = shipped(file);
      assert.match(text, / {4}registry:\n(?: {6}.*\n)* {6}enabled: true\n/, file);
      return text;
    };
    // prod's stack file gives its registry 5002, dev's takes the default 5001.
    assert.deepEqual(check(registryOn("Pulumi.dev.yaml"), registryOn("Pulumi.prod.yaml")), []);
    const sharedPort = registryOn("Pulumi.prod.yaml").replace("      hostPort: 5002\n", "      hostPort: 5001\n");
    assert.deepEqual(check(registryOn("Pulumi.dev.yaml"), sharedPort), [
      "dev and prod both take TCP port 5001 on 127.0.0.1 (dev: cluster.registry.hostPort, prod: cluster.registry.hostPort): change one",
    ]);
    const mapping = shipped("Pulumi.prod.yaml").replace(
      "    workers: 2\n",
      "    workers: 2\n    extraPortMappings:\n      - containerPort: 30080\n        hostPort: 5001\n",
    );
    assert.deepEqual(check(registryOn("Pulumi.dev.yaml"), mapping), [
      "dev and prod both take TCP port 5001 on 127.0.0.1 (dev: cluster.registry.hostPort, prod: cluster.extraPortMappings): change one",
    ]);
  });

  it("local Git servers: two on one host port clash, as does one on another's registry port", () => {
    // Both shipped stack files turn their Git server on: here on the given port.
    const gitServerOn = (file: string, port: number) =>
      shipped(file).replace(/( {4}gitServer:\n {6}enabled: true\n)(?: {6}hostPort: \d+\n)?/, `$1      hostPort: ${port}\n`);
    assert.deepEqual(check(gitServerOn("Pulumi.dev.yaml", 3001), gitServerOn("Pulumi.prod.yaml", 3002)), []);
    assert.deepEqual(check(gitServerOn("Pulumi.dev.yaml", 3001), gitServerOn("Pulumi.prod.yaml", 3001)), [
      "dev and prod both take TCP port 3001 on 127.0.0.1 (dev: cluster.gitServer.hostPort, prod: cluster.gitServer.hostPort): change one",
    ]);
    assert.deepEqual(check(gitServerOn("Pulumi.dev.yaml", 3001), gitServerOn("Pulumi.prod.yaml", 5001)), [
      "dev and prod both take TCP port 5001 on 127.0.0.1 (dev: cluster.registry.hostPort, prod: cluster.gitServer.hostPort): change one",
    ]);
  });

  it("up --all stops before anything runs", async () => {
    const copy = projectCopy({ "Pulumi.prod.yaml": twin() });
    try {
      const io = captureIo({ root: copy.root, env: { PATH: "/usr/bin:/bin" } });
      assert.equal(await lifecycle(["up", "--all", "--yes", "--no-preflight"], io, { machine: readyMachine }), 1);
      assert.equal(
        io.err(),
        "gitops: dev and prod both use the kind cluster gitops-dev (and its kubeconfig .kube/gitops-dev.yaml): give one another cluster.name\n",
      );
    } finally {
      copy.remove();
    }
  });

  it("up of one of them stops before Pulumi runs, naming the other", async () => {
    const copy = projectCopy({ "Pulumi.prod.yaml": twin() });
    try {
      const io = captureIo({ root: copy.root, env: { PATH: "/usr/bin:/bin" } });
      assert.equal(await lifecycle(["up", "prod", "--no-preflight"], io, { machine: readyMachine }), 1);
      assert.match(io.err(), /^gitops: prod and dev both use the kind cluster gitops-dev/m);
    } finally {
      copy.remove();
    }
  });
});
