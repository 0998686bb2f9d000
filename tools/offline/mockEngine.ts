// Runs the real program under Pulumi's mock engine and records every resource it registers,
// with the options a plain mock cannot see (provider, deletedWith, dependencies, ...).
// `npm run render` and the tests both use it, so neither defines an object a second time.
import * as pulumi from "@pulumi/pulumi";
import { deployEnvironment, type EnvironmentOutputs } from "../../infra/environment.ts";
import {
  interceptRegistrations,
  runInPulumiStack,
  specialSecretSig,
  specialSigKey,
  unknownValue,
  type RegisterRequest,
} from "./pulumiInternals.ts";

/** Stands in for a value that only exists after deployment. */
export const afterDeployment = (what: string) => `(known after deployment: ${what})`;
/** Stands in for a secret input: render never prints one. */
export const secretValue = "(secret)";

export interface Registration {
  /** Set by the engine's answer; empty while the registration is in flight. */
  urn: string;
  readonly type: string;
  readonly name: string;
  readonly custom: boolean;
  /** Inputs as the engine receives them; secrets replaced by `secretValue`. */
  readonly inputs: Record<string, unknown>;
  /** Input property names the program marked secret. */
  readonly secretInputs: readonly string[];
  readonly parent: string;
  readonly provider: string;
  readonly deletedWith: string;
  readonly dependencies: readonly string[];
  readonly additionalSecretOutputs: readonly string[];
  readonly deleteBeforeReplace: boolean;
  readonly customTimeouts?: { create: string; update: string; delete: string };
}

export interface EvaluationOptions {
  readonly project: string;
  readonly stack: string;
  readonly config: Record<string, string>;
  /** Keys of `config` that are stored encrypted. */
  readonly secretKeys?: readonly string[];
  /** Simulate `pulumi preview` of a new stack: the kind cluster's kubeconfig is unknown. */
  readonly preview?: boolean;
  /**
   * The project folder the stack's files are read from.
   * @default the project this tool belongs to
   */
  readonly root?: string;
  /** What `kind` prints on stdout in an `up`; a placeholder for the kubeconfig unless given. */
  readonly kindStdout?: string;
  /**
   * The environment variables the program reads (GITHUB_TOKEN).
   * @default none: an evaluation does not depend on the shell it runs in
   */
  readonly environment?: Readonly<Record<string, string | undefined>>;
}

export interface Evaluation<T = EnvironmentOutputs> {
  readonly registrations: readonly Registration[];
  /** The program's return value (stack outputs), with their secretness intact. */
  readonly outputs?: T;
  /** What made the program fail, if it did. */
  readonly error?: unknown;
  /** What the program logged as warnings (the engine shows them once, among its diagnostics). */
  readonly warnings: readonly string[];
}

/** Evaluates the program once. Evaluations in one process must not overlap. */
export function evaluateStack(options: EvaluationOptions): Promise<Evaluation> {
  return evaluateUnderMocks(() => deployEnvironment(options.root, options.environment ?? {}), options);
}

// The mock engine is one per process: evaluations take turns.
let previous: Promise<unknown> = Promise.resolve();

/**
 * Runs `program` (the whole program, or one component) under the mock engine as a stack's
 * program runs, and records what it registers. Evaluations in one process take turns.
 */
export function evaluateUnderMocks<T>(
  program: () => T,
  options: Pick<EvaluationOptions, "project" | "stack" | "preview" | "kindStdout"> &
    Partial<Pick<EvaluationOptions, "config" | "secretKeys">>,
): Promise<Evaluation<T>> {
  const turn = previous.then(() => evaluateNow(program, options));
  previous = turn.catch(() => undefined);
  return turn;
}

async function evaluateNow<T>(
  program: () => T,
  options: Pick<EvaluationOptions, "project" | "stack" | "preview" | "kindStdout"> &
    Partial<Pick<EvaluationOptions, "config" | "secretKeys">>,
): Promise<Evaluation<T>> {
  const preview = options.preview ?? false;
  await pulumi.runtime.setMocks(
    {
      // Every resource echoes its inputs, plus what only exists after deployment.
      newResource: ({ type, name, inputs }: { type: string; name: string; inputs: Record<string, unknown> }) => ({
        id: preview ? undefined : `${name}-id`,
        state: { ...inputs, ...createdOutputs(type, name, preview, options.kindStdout) },
      }),
      call: ({ inputs }) => inputs as Record<string, unknown>,
    },
    options.project,
    options.stack,
    preview,
  );
  pulumi.runtime.setAllConfig(options.config ?? {}, [...(options.secretKeys ?? [])]);

  const registrations: Registration[] = [];
  let pending = 0;
  interceptRegistrations((request) => {
    const registration = record(request);
    registrations.push(registration);
    pending++;
    return (urn) => {
      pending--;
      registration.urn = urn;
    };
  });

  const failures: unknown[] = [];
  const onRejection = (reason: unknown) => failures.push(reason);
  process.on("unhandledRejection", onRejection);
  let outputs: T | undefined;
  const warnings: string[] = [];
  try {
    await runInPulumiStack(() => {
      // Without an engine, pulumi.log.warn prints "warning: [runtime] ..." itself, at once: the
      // warnings are kept instead, for the caller to show as the engine would.
      const consoleWarn = console.warn;
      console.warn = (...args: unknown[]) => {
        const text = args.map(String).join(" ");
        if (text.startsWith(runtimeWarning)) warnings.push(text.slice(runtimeWarning.length));
        else consoleWarn(...args);
      };
      // Caught here, a failure (invalid configuration) ends the run like the real runtime
      // does, without leaving the stack's outputs rejected and unhandled.
      try {
        outputs = program();
      } catch (error) {
        failures.push(error);
      } finally {
        console.warn = consoleWarn;
      }
      return Promise.resolve((outputs ?? {}) as Record<string, unknown>);
    });
  } catch (error) {
    failures.push(error);
  }
  // A failed program leaves rejections behind (the stack's own outputs): collect them too.
  await settled(() => pending);
  process.off("unhandledRejection", onRejection);
  const programRegistrations = registrations.filter((registration) => registration.type !== "pulumi:pulumi:Stack");
  return { registrations: programRegistrations, outputs, error: failures[0], warnings };
}

/** How @pulumi/pulumi's log.warn prints a warning when no engine runs (log/index.js). */
const runtimeWarning = "warning: [runtime] ";

/** Outputs a resource gets when it is created: unknown in a first preview, placeholders otherwise. */
function createdOutputs(type: string, name: string, preview: boolean, kindStdout?: string): Record<string, string> {
  const value = (what: string) => (preview ? unknownValue : afterDeployment(what));
  switch (type) {
    case "command:local:Command":
      // Only the kind command prints something the program reads (the kubeconfig).
      return name.endsWith("-kind") ? { stdout: kindStdout ?? value("kubeconfig of the kind cluster") } : { stdout: value("stdout") };
    case "tls:index/privateKey:PrivateKey":
      return { privateKeyOpenssh: value("generated SSH private key"), publicKeyOpenssh: value("generated SSH public key") };
    default:
      return {};
  }
}

function record(req: RegisterRequest): Registration {
  const secretInputs: string[] = [];
  const raw = req.getObject()?.toJavaScript() ?? {};
  const inputs = Object.fromEntries(
    Object.entries(raw).map(([key, value]) => {
      if (containsSecret(value)) secretInputs.push(key);
      return [key, plain(value)];
    }),
  );
  const timeouts = req.getCustomtimeouts();
  return {
    urn: "",
    type: req.getType(),
    name: req.getName(),
    custom: req.getCustom(),
    inputs,
    secretInputs,
    parent: req.getParent(),
    provider: req.getProvider(),
    deletedWith: req.getDeletedwith(),
    dependencies: req.getDependenciesList(),
    additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
    deleteBeforeReplace: req.getDeletebeforereplace(),
    customTimeouts: timeouts ? { create: timeouts.getCreate(), update: timeouts.getUpdate(), delete: timeouts.getDelete() } : undefined,
  };
}

function isSecretEnvelope(value: unknown): value is { value: unknown } {
  return typeof value === "object" && value !== null && (value as Record<string, unknown>)[specialSigKey] === specialSecretSig;
}

function containsSecret(value: unknown): boolean {
  if (isSecretEnvelope(value)) return true;
  if (typeof value !== "object" || value === null) return false;
  return Object.values(value).some(containsSecret);
}

/** Wire values to plain data: secrets hidden (their structure kept, so a Secret still has its keys), unknowns named. */
function plain(value: unknown): unknown {
  if (isSecretEnvelope(value)) return mask(plain(value.value));
  if (value === unknownValue) return afterDeployment("value");
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, plain(inner)]));
  }
  return value;
}

function mask(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(mask);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, mask(inner)]));
  }
  return secretValue;
}

/** Waits until no registration is in flight for a few turns of the event loop. */
async function settled(inFlight: () => number): Promise<void> {
  let quietTurns = 0;
  for (let turn = 0; turn < 10_000 && quietTurns < 5; turn++) {
    await new Promise((resolve) => setImmediate(resolve));
    quietTurns = inFlight() === 0 ? quietTurns + 1 : 0;
  }
}
