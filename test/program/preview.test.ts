// `pulumi preview` of a new stack: kind has not run, so the kubeconfig is unknown.
import assert from "node:assert/strict";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { describe, it } from "node:test";
import { evaluate, only } from "../helpers.ts";

const processStarters = ["spawn", "spawnSync", "exec", "execSync", "execFile", "execFileSync", "fork"] as const;

describe("preview with an unknown kubeconfig", () => {
  it("evaluates the whole program without throwing and without starting a process", async () => {
    const childProcess = createRequire(import.meta.filename)("node:child_process") as Record<string, unknown>;
    const started: string[] = [];
    const originals = processStarters.map((name) => [name, childProcess[name]] as const);
    for (const name of processStarters) {
      childProcess[name] = (...args: unknown[]) => {
        started.push(`${name} ${String(args[0])}`);
        throw new Error(`evaluation started a process: ${name}`);
      };
    }
    syncBuiltinESMExports();
    let evaluation;
    try {
      evaluation = await evaluate("dev", { preview: true });
    } finally {
      for (const [name, original] of originals) childProcess[name] = original;
      syncBuiltinESMExports();
    }
    assert.equal(evaluation.error, undefined, String(evaluation.error));
    assert.deepEqual(started, []);

    const up = await evaluate("dev");
    const names = (registrations: typeof up.registrations) => registrations.map((r) => `${r.type} ${r.name}`).sort();
    assert.deepEqual(names(evaluation.registrations), names(up.registrations));

    const provider = only(evaluation.registrations, "pulumi:providers:kubernetes");
    assert.equal(provider.inputs.clusterIdentifier, "(known after deployment: value)");
    assert.deepEqual(provider.secretInputs, ["kubeconfig"]);
    // Output has no public isKnown; the instance's own promise says whether a value exists yet.
    const kubeconfig = evaluation.outputs!.kubeconfig as unknown as { isKnown: Promise<boolean> };
    assert.equal(await kubeconfig.isKnown, false);
  });
});
