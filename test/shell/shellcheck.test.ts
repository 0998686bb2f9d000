// Every bash script the program registers (the kind cluster's and the local registry's create,
// update and delete, exactly as Pulumi will run them), the bash the tools run (`npm run
// mirrors -- up`) and CI's own (.ci/run), read by shellcheck: quoting, pipefail and unused-variable mistakes are caught
// by a tool, not a review. .ci/run installs shellcheck; elsewhere, without it, this test skips.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { mirrorsUpScript } from "../../tools/mirrors.ts";
import { projectRoot } from "../../infra/settings/index.ts";
import { evaluate, fixtures, runProcess } from "../helpers.ts";

const shellcheck = spawnSync("shellcheck", ["--version"]).status === 0;
// CI must run it: there a skip would look like a pass.
const skip = shellcheck ? false : process.env.CI === "true" ? false : "shellcheck is not installed (apt-get install shellcheck)";

describe("the bash scripts, read by shellcheck", () => {
  it("finds nothing to say about any script the program registers or the tools run", { skip }, async () => {
    assert.ok(shellcheck, "shellcheck is not installed: .ci/run installs it (apt-get install shellcheck)");
    const { registrations } = await evaluate("dev", { stackFile: path.join(fixtures, "stacks/git-server.yaml") });
    const commands = registrations.filter((registration) => registration.type === "command:local:Command");
    const scripts: Record<string, string> = { "mirrors-up": mirrorsUpScript([{ env: "dev", name: "gitops-dev" }]) };
    for (const command of commands) {
      for (const step of ["create", "update", "delete"]) {
        const text = command.inputs[step];
        if (typeof text === "string") scripts[`${command.name}-${step}`] = text;
      }
    }
    // The kind cluster's and the local registry's three scripts each, the Git server's two, and the tools' one.
    assert.equal(Object.keys(scripts).length, 9, Object.keys(scripts).join(", "));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shellcheck-"));
    try {
      const files = Object.entries(scripts).map(([name, text]) => {
        const file = path.join(dir, `${name}.sh`);
        fs.writeFileSync(file, `${text}\n`);
        return file;
      });
      // Run as `bash -c`: no shebang, so the shell is named; every severity, style included.
      const result = await runProcess("shellcheck", ["--shell=bash", "--severity=style", "--format=gcc", ...files, ".ci/run"], {
        cwd: projectRoot,
      });
      assert.equal(result.stdout.replaceAll(`${dir}/`, ""), "");
      assert.equal(result.status, 0, result.stderr);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
