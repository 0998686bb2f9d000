// Stopping Pulumi operations that run through the Automation API: cleanly, exactly once, and
// never lost. What it has to respect:
// - Pulumi takes a first SIGINT (or SIGTERM) as "cancel cleanly" and a second as "terminate now"
//   (pkg/backend/cancellation_scope.go).
// - A terminal's Ctrl-C reaches every process of the foreground process group, each Pulumi
//   included; npm also passes on the SIGINT and SIGTERM it gets (@npmcli/run-script's
//   signal-manager), so a tool run by npm sees each Ctrl-C twice. So a tool with a controlling
//   terminal never passes a SIGINT on, and never counts them. A SIGTERM, or a SIGINT where no
//   terminal can have sent it (a CI cancel, `kill -INT`), reached only the tool: it is passed on, once.
// - The Automation API sends its one SIGINT when the operation's AbortSignal aborts, but it
//   listens only from the moment it starts Pulumi, and an AbortSignal does not replay: a stop
//   asked for earlier would be lost. A stop is held until Pulumi's first output proves it runs.
import * as fs from "node:fs";

/** What a tool hears SIGINT and SIGTERM from: this process, or a test's stand-in. */
export type Signals = Pick<NodeJS.EventEmitter, "on" | "off">;

/** Whether this process has a controlling terminal, whose Ctrl-C then reaches the Pulumi it runs too. */
export function hasControllingTerminal(): boolean {
  try {
    fs.closeSync(fs.openSync("/dev/tty", "r"));
    return true;
  } catch {
    return false;
  }
}

/** Pulumi's own words when a signal reaches it (pkg/backend/cancellation_scope.go). */
const cancellingLine = /(\^C|SIGTERM) received; cancelling/;

/** One Pulumi operation: the AbortSignal to hand the Automation API, and what Pulumi said. */
export class PulumiOperation {
  readonly #abort = new AbortController();
  #started = false;
  #stopAsked = false;
  #cancelling = false;
  /** For the Automation API's `signal`: aborted (one SIGINT) once a stop is asked and Pulumi runs. */
  readonly signal = this.#abort.signal;

  /** Pulumi said it is cancelling: a signal reached it, from this tool or from the terminal. */
  get cancelling(): boolean {
    return this.#cancelling;
  }

  /** Feed it everything Pulumi writes (stdout and stderr). */
  readonly output = (text: string): void => {
    if (cancellingLine.test(text)) this.#cancelling = true;
    if (this.#started) return;
    this.#started = true;
    if (this.#stopAsked && !this.#cancelling) this.#abort.abort();
  };

  /** Asks Pulumi to cancel cleanly: one SIGINT, now or as soon as it runs; never one it already had. */
  stop(): void {
    if (this.#stopAsked || this.#cancelling) return;
    this.#stopAsked = true;
    if (this.#started) this.#abort.abort();
  }
}

export type StopReason = "interrupted" | "timed out";

/**
 * A tool's stop: once requested, no further operation starts (`requested`), waits end
 * (`signal`), and, when the request is to be passed on, every running operation gets its one
 * SIGINT, and so does one that starts anyway.
 */
export class Stopping {
  readonly #abort = new AbortController();
  readonly #running = new Set<PulumiOperation>();
  #passedOn = false;
  #reason?: StopReason;
  /** Aborted when a stop is requested: for sleeps, waits and requests of the tool's own. */
  readonly signal = this.#abort.signal;

  get requested(): boolean {
    return this.#reason !== undefined;
  }

  /** Why the first stop was requested. */
  get reason(): StopReason | undefined {
    return this.#reason;
  }

  /** `passOn`: Pulumi did not get the signal itself, so each running operation is asked to stop. */
  request(reason: StopReason, passOn: boolean): void {
    this.#reason ??= reason;
    if (!this.#abort.signal.aborted) this.#abort.abort(new Error(reason));
    if (!passOn || this.#passedOn) return;
    this.#passedOn = true;
    for (const operation of this.#running) operation.stop();
  }

  /**
   * Requests a stop at each SIGINT or SIGTERM that `signals` hears, passed on unless a terminal's
   * Ctrl-C reached Pulumi too (passesOn); `first` hears the first. Returns what stops listening.
   */
  listen(signals: Signals, terminal: boolean, first: (signal: NodeJS.Signals, passOn: boolean) => void): () => void {
    const onSignal = (signal: NodeJS.Signals) => {
      const passOn = passesOn(signal, terminal);
      if (!this.requested) first(signal, passOn);
      this.request("interrupted", passOn);
    };
    signals.on("SIGINT", onSignal);
    signals.on("SIGTERM", onSignal);
    return () => {
      signals.off("SIGINT", onSignal);
      signals.off("SIGTERM", onSignal);
    };
  }

  /** A new operation, stopped at once if a stop was passed on already; `finished` when it ends. */
  begin(): { operation: PulumiOperation; finished: () => void } {
    const operation = new PulumiOperation();
    this.#running.add(operation);
    if (this.#passedOn) operation.stop();
    return { operation, finished: () => this.#running.delete(operation) };
  }
}

/**
 * Whether a signal to this tool is to be passed on to the Pulumi it runs: a SIGINT at a terminal
 * reached Pulumi too (and comes twice under npm); anything else reached only this tool.
 */
export const passesOn = (signal: NodeJS.Signals, terminal: boolean): boolean => signal === "SIGTERM" || !terminal;
