// The Pulumi CLI the tools run (tools/pulumiCli.ts): the release @pulumi/pulumi pins, from
// $PULUMI_HOME/versions/<version>, downloaded there on first use by the Automation API's own
// installer. No `pulumi` is on PATH in any of these tests. The download is faked at its boundary:
// get.pulumi.com's install.sh is answered with a script that installs the Pulumi stub where
// Pulumi's installer would put the CLI (--install-root, --version).
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { EventEmitter } from "node:events";
import { main as pulumiTool } from "../tools/pulumi.ts";
import { pinnedPulumiVersion, pulumiCli } from "../tools/pulumiCli.ts";
import { demoPassphrase } from "../tools/pulumiDefaults.ts";
import { captureIo } from "./helpers.ts";
import { operations, withFixture } from "./support/lifecycle.ts";

const installScriptUrl = "https://get.pulumi.com/install.sh";

/**
 * While `test` runs, fetching install.sh answers with `script` (or fails as fetch does offline,
 * when it is undefined); every other URL is fetched as usual.
 */
async function withInstallScript(script: string | undefined, test: () => Promise<void>): Promise<string[]> {
  const original = globalThis.fetch;
  const fetched: string[] = [];
  globalThis.fetch = async (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (url !== installScriptUrl) return original(input, init);
    fetched.push(url);
    if (script === undefined) throw new TypeError("fetch failed");
    return new Response(script);
  };
  try {
    await test();
  } finally {
    globalThis.fetch = original;
  }
  return fetched;
}

/** install.sh as Pulumi's installer is called (--no-edit-path --install-root R --version V): puts `binary` at R/bin/pulumi. */
const installScript = (binary: string) => `#!/bin/sh
set -eu
while [ $# -gt 0 ]; do
  case "$1" in
    --install-root) root="$2"; shift 2 ;;
    --version) version="$2"; shift 2 ;;
    --no-edit-path) shift ;;
    *) echo "install.sh: unknown option $1" >&2; exit 1 ;;
  esac
done
mkdir -p "$root/bin"
cp "${binary}" "$root/bin/pulumi"
echo "$version" > "$root/installed-version"
`;

// One test at a time: the downloads replace the one global fetch.
describe("the Pulumi CLI the tools run", () => {
  it("is the version @pulumi/pulumi pins, under PULUMI_HOME (else ~/.pulumi); PULUMI_VERSION picks another", () => {
    const sdk = JSON.parse(fs.readFileSync("node_modules/@pulumi/pulumi/package.json", "utf8")) as { version: string };
    assert.equal(pinnedPulumiVersion, sdk.version);
    const cli = pulumiCli({ HOME: "/home/demo" });
    assert.equal(cli.root, `/home/demo/.pulumi/versions/${pinnedPulumiVersion}`);
    assert.equal(cli.binary, `/home/demo/.pulumi/versions/${pinnedPulumiVersion}/bin/pulumi`);
    assert.equal(cli.installed, false);
    assert.equal(
      pulumiCli({ HOME: "/home/demo", PULUMI_HOME: "/opt/pulumi", PULUMI_VERSION: "v3.280.1" }).root,
      "/opt/pulumi/versions/3.280.1",
    );
  });

  it(
    "not there yet: npm run preview downloads it once with Pulumi's installer, says so, then runs it (no pulumi on PATH)",
    withFixture(async ({ stub, lifecycle }) => {
      const home = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-home-"));
      try {
        let first: Awaited<ReturnType<typeof lifecycle>> | undefined;
        const fetched = await withInstallScript(installScript(path.join(stub.bin, "pulumi")), async () => {
          first = await lifecycle(["preview", "dev", "--no-preflight"], { env: { PULUMI_HOME: home } });
        });
        const root = path.join(home, "versions", pinnedPulumiVersion);
        assert.equal(first?.code, 0, first?.stderr);
        assert.deepEqual(fetched, [installScriptUrl]);
        assert.equal(fs.readFileSync(path.join(root, "installed-version"), "utf8"), `${pinnedPulumiVersion}\n`);
        assert.ok(
          first?.stderr.startsWith(`gitops: downloading the Pulumi CLI v${pinnedPulumiVersion} into ${root} (once; from get.pulumi.com)\n`),
        );
        assert.equal(operations(stub.calls()).length, 1);
        // Once there, it is used as it is.
        const again = await withInstallScript(undefined, async () => {
          const second = await lifecycle(["preview", "dev", "--no-preflight"], { env: { PULUMI_HOME: home } });
          assert.equal(second.code, 0, second.stderr);
          assert.doesNotMatch(second.stderr, /downloading/);
        });
        assert.deepEqual(again, []);
      } finally {
        fs.rmSync(home, { recursive: true, force: true });
      }
    }),
  );

  it(
    "a download that fails (offline): exit 127, one line with what to do and what still works; Pulumi never runs",
    withFixture(async ({ stub, lifecycle }) => {
      const home = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-home-"));
      try {
        await withInstallScript(undefined, async () => {
          const result = await lifecycle(["up", "dev", "--no-preflight", "--yes"], { env: { PULUMI_HOME: home } });
          assert.equal(result.code, 127);
          const root = path.join(home, "versions", pinnedPulumiVersion);
          assert.equal(
            result.stderr,
            `gitops: downloading the Pulumi CLI v${pinnedPulumiVersion} into ${root} (once; from get.pulumi.com)\n` +
              `gitops: could not download the Pulumi CLI v${pinnedPulumiVersion} into ${root}: Failed to download ${installScriptUrl}: fetch failed — ` +
              `connect to the internet and run this again, or install that release there yourself (https://www.pulumi.com/docs/iac/download-install/: install.sh --install-root ${root} --version ${pinnedPulumiVersion}); ` +
              "without it, npm run render -- <env> still works\n",
          );
        });
        assert.deepEqual(stub.calls(), []);
      } finally {
        fs.rmSync(home, { recursive: true, force: true });
      }
    }),
  );

  it(
    "an installer that fails: its own last words, not the Automation API's wrapping, say why",
    withFixture(async ({ stub, lifecycle }) => {
      const home = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-home-"));
      try {
        const failing =
          "#!/bin/sh\necho 'downloading pulumi-v3.270.0-linux-x64.tar.gz' >&2\necho 'error: the download failed: 404 Not Found' >&2\nexit 1\n";
        await withInstallScript(failing, async () => {
          const result = await lifecycle(["up", "dev", "--no-preflight", "--yes"], { env: { PULUMI_HOME: home } });
          assert.equal(result.code, 127);
          assert.match(result.stderr, /: error: the download failed: 404 Not Found — connect to the internet/);
        });
        assert.deepEqual(stub.calls(), []);
      } finally {
        fs.rmSync(home, { recursive: true, force: true });
      }
    }),
  );

  it(
    "npm run pulumi passes its arguments to that CLI, with the project's state folder and demo passphrase",
    withFixture(async ({ stub, project }) => {
      const io = captureIo({ root: project.root, env: stub.env() });
      const code = await pulumiTool(["stack", "init", "dev"], io, { terminal: false, signals: new EventEmitter() });
      assert.equal(code, 0, io.err());
      assert.deepEqual(stub.calls(), [`stack init dev | passphrase=${demoPassphrase} backend= unreachable=`]);
      assert.equal(io.out(), "Created stack 'dev'\n");
    }),
  );

  it(
    "npm run pulumi refuses to store a secret under the public demo passphrase, and shows its usage without arguments",
    withFixture(async ({ stub, project }) => {
      const run = async (argv: string[], env: NodeJS.ProcessEnv = {}) => {
        const io = captureIo({ root: project.root, env: stub.env(env) });
        return { code: await pulumiTool(argv, io, { terminal: false, signals: new EventEmitter() }), stderr: io.err() };
      };
      const secret = await run(["config", "set", "--stack", "dev", "--secret", "githubToken", "t0ken"]);
      assert.equal(secret.code, 2);
      assert.match(
        secret.stderr,
        /^gitops: refusing to store a secret under the demo passphrase, which is public: set PULUMI_CONFIG_PASSPHRASE/,
      );
      assert.deepEqual(stub.calls(), []);
      const own = await run(["stack", "init", "dev"], { PULUMI_CONFIG_PASSPHRASE: "mine" });
      assert.equal(own.code, 0, own.stderr);
      assert.deepEqual(stub.calls(), ["stack init dev | passphrase=mine backend= unreachable="]);
      const bare = await run([]);
      assert.deepEqual(
        [bare.code, bare.stderr],
        [2, "usage: npm run pulumi -- <pulumi command and options>   (e.g. npm run pulumi -- stack output --stack dev)\n"],
      );
    }),
  );
});
