// How the tools stop the Pulumi operations they run through the Automation API (tools/stopping.ts):
// one SIGINT each, never a second, never one lost because Pulumi had not started yet.
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { describe, it } from "node:test";
import { passesOn, PulumiOperation, Stopping } from "../tools/stopping.ts";

describe("stopping Pulumi operations", () => {
  it("holds a stop asked before Pulumi runs until its first output, then sends it", () => {
    const operation = new PulumiOperation();
    operation.stop();
    assert.equal(operation.signal.aborted, false, "no SIGINT to a process that the Automation API has not started");
    operation.output("Updating (dev):\n");
    assert.equal(operation.signal.aborted, true);
  });

  it("sends no SIGINT to a Pulumi that got one itself (a terminal's Ctrl-C), before or after it runs", () => {
    const early = new PulumiOperation();
    early.stop();
    early.output("^C received; cancelling. If you would like to terminate immediately, press ^C again.\n");
    assert.equal(early.signal.aborted, false);
    assert.equal(early.cancelling, true);

    const running = new PulumiOperation();
    running.output("Updating (dev):\n");
    running.output("SIGTERM received; cancelling. If you would like to terminate immediately, send SIGTERM again.\n");
    running.stop();
    assert.equal(running.signal.aborted, false);
    assert.equal(running.cancelling, true);
  });

  it("a stop passed on reaches every running operation, and one that starts after it", () => {
    const stopping = new Stopping();
    const first = stopping.begin();
    first.operation.output("Updating (dev):\n");
    const ended = stopping.begin();
    ended.finished();
    stopping.request("interrupted", true);
    assert.equal(first.operation.signal.aborted, true);
    assert.equal(ended.operation.signal.aborted, false, "an operation that ended is left alone");
    const late = stopping.begin();
    late.operation.output("Updating (prod):\n");
    assert.equal(late.operation.signal.aborted, true);
    assert.equal(stopping.requested, true);
    assert.equal(stopping.signal.aborted, true);
  });

  it("a stop not passed on only marks the stop: Pulumi had the signal itself", () => {
    const stopping = new Stopping();
    const { operation } = stopping.begin();
    operation.output("Updating (dev):\n");
    stopping.request("interrupted", false);
    assert.equal(operation.signal.aborted, false);
    assert.equal(stopping.requested, true);
    assert.equal(stopping.signal.aborted, true);
  });

  it("keeps the first reason", () => {
    const stopping = new Stopping();
    stopping.request("timed out", true);
    stopping.request("interrupted", true);
    assert.equal(stopping.reason, "timed out");
  });

  it("passes on a SIGTERM always, a SIGINT only where no terminal sent it to Pulumi too", () => {
    assert.deepEqual(
      [passesOn("SIGTERM", true), passesOn("SIGTERM", false), passesOn("SIGINT", true), passesOn("SIGINT", false)],
      [true, true, false, true],
    );
  });

  it("listens for SIGINT and SIGTERM: the first is announced, a terminal's Ctrl-C is not passed on, a SIGTERM is", () => {
    const signals = new EventEmitter();
    const stopping = new Stopping();
    const { operation } = stopping.begin();
    operation.output("Updating (dev)");
    const heard: string[] = [];
    const stopListening = stopping.listen(signals, true, (signal, passOn) => heard.push(`${signal} ${passOn}`));
    signals.emit("SIGINT", "SIGINT");
    assert.equal(stopping.requested, true);
    assert.equal(operation.signal.aborted, false, "Pulumi had the terminal's Ctrl-C itself");
    signals.emit("SIGTERM", "SIGTERM");
    assert.equal(operation.signal.aborted, true);
    assert.deepEqual(heard, ["SIGINT false"]);
    stopListening();
    assert.deepEqual([signals.listenerCount("SIGINT"), signals.listenerCount("SIGTERM")], [0, 0]);
  });
});
