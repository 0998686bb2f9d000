// npm run sync's building blocks (tools/sync.ts): the durations --timeout takes, and when Flux
// has handled a reconcile request, and how it went. The tool itself: sync.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseDuration, reconcileState } from "../tools/sync.ts";

describe("sync's building blocks", () => {
  it("reads durations as the README writes them", () => {
    assert.equal(parseDuration("90s"), 90_000);
    assert.equal(parseDuration("3m"), 180_000);
    assert.equal(parseDuration("1m30s"), 90_000);
    assert.equal(parseDuration("1h"), 3_600_000);
    assert.equal(parseDuration("soon"), undefined);
    assert.equal(parseDuration("3"), undefined);
    assert.equal(parseDuration(""), undefined);
  });

  it("counts an object done only once Flux has handled this very request", () => {
    const at = "2026-11-25T01:00:00.000Z";
    const ready = [{ type: "Ready", status: "True" }];
    assert.deepEqual(reconcileState(undefined, at), { done: false, failed: false, text: "waiting" });
    assert.deepEqual(reconcileState({ lastHandledReconcileAt: "earlier", conditions: ready }, at), {
      done: false,
      failed: false,
      text: "waiting",
    });
    assert.deepEqual(reconcileState({ lastHandledReconcileAt: at, conditions: [{ type: "Ready", status: "Unknown" }] }, at), {
      done: false,
      failed: false,
      text: "reconciling",
    });
    assert.deepEqual(reconcileState({ lastHandledReconcileAt: at, conditions: ready, lastAppliedRevision: "main@sha1:1" }, at), {
      done: true,
      failed: false,
      text: "ready at main@sha1:1",
      revision: "main@sha1:1",
    });
    // Handled, but still on the previous commit: not done until it applies the source's new one.
    assert.deepEqual(
      reconcileState({ lastHandledReconcileAt: at, conditions: ready, lastAppliedRevision: "main@sha1:1" }, at, "main@sha1:2"),
      {
        done: false,
        failed: false,
        text: "applying main@sha1:2",
      },
    );
  });

  it("counts a Ready=False answer to this request as a failure with Flux's reason and message", () => {
    const at = "2026-11-25T01:00:00.000Z";
    const failed = [{ type: "Ready", status: "False", reason: "GitOperationFailed", message: "authentication required" }];
    assert.deepEqual(reconcileState({ lastHandledReconcileAt: at, conditions: failed }, at), {
      done: true,
      failed: true,
      text: "failed: GitOperationFailed authentication required",
    });
    // The failure of an earlier request is not this one's.
    assert.equal(reconcileState({ lastHandledReconcileAt: "earlier", conditions: failed }, at).failed, false);
  });
});
