// `pulumi preview` of a new stack: kind has not run, so the kubeconfig is unknown.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { evaluate, only, runCli } from "../helpers.ts";

describe("preview with an unknown kubeconfig", () => {
  it("evaluates the whole program without throwing and without starting a process", async () => {
    // In a process of its own: there, any process started is the evaluation's.
    const alone = await runCli("test/support/evaluate.ts", ["dev", "--preview"]);
    assert.equal(alone.status, 0, alone.stderr);
    const { error, started, registered } = JSON.parse(alone.stdout) as { error?: string; started: string[]; registered: string[] };
    assert.equal(error, undefined);
    assert.deepEqual(started, []);
    assert.ok(registered.length > 10, registered.join("\n"));
  });

  it("registers what an up registers, with the kubeconfig and the provider's cluster unknown and secret", async () => {
    const evaluation = await evaluate("dev", { preview: true });
    assert.equal(evaluation.error, undefined, String(evaluation.error));
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
