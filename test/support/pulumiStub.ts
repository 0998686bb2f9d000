// A stand-in for the Pulumi CLI (v3.270) that answers exactly the calls our tools and the
// Automation API make, failures included, so the lifecycle tests run without Pulumi or a cluster.
// Where each behaviour comes from, in pulumi/pulumi:
// - state backend: PULUMI_BACKEND_URL, else Pulumi.yaml `backend.url`; a `file://` folder is
//   resolved against the working directory and never created; when it is missing every command
//   but `version` fails (pkg/backend/diy/backend.go newDIYBackend, stateStoreNoun and
//   describeBackendURL, #24335; #15841);
// - stacks: `stack select` (pkg/cmd/pulumi/stack/stack_select.go), `stack init`, and their errors
//   (pkg/backend/backenderr: "no stack named '<s>' found", "stack '<s>' already exists"), which the
//   Automation API turns into StackNotFoundError / StackAlreadyExistsError (automation/errors.js);
// - exit codes: pkg/cmd/pulumi/cmd/exit_codes.go (1 for a failed or cancelled operation, a
//   "bail"; 2 for a missing --yes without a terminal; 6 for a missing stack; 7 for changes under
//   --expect-no-changes);
// - operations: the "Updating (<s>):" banner (pkg/backend/apply.go, diy/backend.go), the
//   engine's "update failed" / "update canceled" (pkg/resource/deploy/deployment_executor.go),
//   the confirmation rule (pkg/cmd/pulumi/operations/up.go, destroy.go), the passphrase rule
//   (pkg/secrets/passphrase/manager.go: a set PULUMI_CONFIG_PASSPHRASE counts even when empty);
// - signals: pkg/backend/cancellation_scope.go: the first SIGINT (or SIGTERM) cancels with its
//   message, a second one terminates at once;
// - `--event-log tcp://host:port`: the Events gRPC service (proto/pulumi/events.proto,
//   StreamEvents, client streaming) that the Automation API starts for preview, and for up when
//   onEvent is set, on Pulumi > 3.205 (automation/stack.js setupEventLog);
// - `stack history --json`: updateInfoJSON in pkg/cmd/pulumi/stack/stack_history.go.
// Not modelled: prompts (it behaves as if no terminal were attached), the current stack of the
// workspace (every operation needs --stack), Pulumi Cloud and bucket backends, the program itself.
// A stack's file holds the stub's own record (secrets provider, resource count, outputs, history),
// not Pulumi's checkpoint format. A stack has 5 resources once up: the first up creates them, a
// destroy deletes them.
//
// For tests: every call is appended to $STUB_CALLS as
// `<args> | passphrase=<PULUMI_CONFIG_PASSPHRASE> backend=<PULUMI_BACKEND_URL> unreachable=<PULUMI_K8S_DELETE_UNREACHABLE>`;
// `<start|end|SIGINT|SIGTERM> <stack> <command> <epoch ms>` lines go to $STUB_TIMES; an
// operation takes $STUB_SECONDS_<COMMAND> (STUB_SECONDS_UP, ...), else $STUB_SECONDS (default 0.1),
// and fails for the stacks named in $STUB_FAIL.
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";

/** Where a package file is, as a CommonJS require (the stub's own requires) finds it. */
const resolveModule = createRequire(import.meta.url).resolve;

const script = (paths: { yaml: string; eventsGrpc: string }) => `#!${process.execPath}
// The Pulumi CLI stand-in written by test/support/pulumiStub.ts: see there.
"use strict";
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const YAML = require(${JSON.stringify(paths.yaml)});
const sdk = require("node:module").createRequire(${JSON.stringify(paths.eventsGrpc)});

const args = process.argv.slice(2);
const env = process.env;
const record = (file, line) => file && fs.appendFileSync(file, line + "\\n");
const say = (line) => process.stdout.write(line + "\\n");
const fail = (message, code) => {
  process.stderr.write("error: " + message + "\\n");
  process.exit(code);
};
if (args[0] === "version") {
  say("v3.270.0");
  process.exit(0);
}
record(env.STUB_CALLS, \`\${args.join(" ")} | passphrase=\${env.PULUMI_CONFIG_PASSPHRASE ?? ""} backend=\${env.PULUMI_BACKEND_URL ?? ""} unreachable=\${env.PULUMI_K8S_DELETE_UNREACHABLE ?? ""}\`);

// --flag value, --flag=value, or a boolean --flag; the rest are words.
const valued = new Set(["--stack", "-s", "--secrets-provider", "--event-log", "--exec-kind", "--page-size", "--page", "--target", "-t", "--parallel", "-p", "--message", "-m", "--color", "--client", "--config-file"]);
const flags = new Map();
const words = [];
for (let index = 0; index < args.length; index++) {
  const [name, inline] = args[index].split(/=(.*)/s);
  if (!name.startsWith("-")) words.push(args[index]);
  else flags.set(name, inline ?? (valued.has(name) ? args[++index] : "true"));
}
const has = (...names) => names.some((name) => flags.has(name) && flags.get(name) !== "false");
const [command, subcommand] = words;
const stackName = flags.get("--stack") ?? flags.get("-s") ?? (command === "stack" ? words[2] : undefined);

if (!fs.existsSync("Pulumi.yaml")) {
  fail(\`no Pulumi.yaml project file found (searching upwards from \${process.cwd()}). If you have not created a project yet, use \\\`pulumi new\\\` to do so: no project file found\`, 1);
}
const project = YAML.parse(fs.readFileSync("Pulumi.yaml", "utf8"));
const url = env.PULUMI_BACKEND_URL || project.backend?.url;
if (!url?.startsWith("file://")) fail(\`the Pulumi stub has only file:// state backends, not \${url ?? "the Pulumi Cloud"}\`, 1);
const state = path.resolve(url.slice("file://".length).split("?")[0].replace(/^~(?=\\/|$)/, os.homedir()));
if (!fs.existsSync(state)) {
  const resolved = \`file://\${state}\` === url ? "" : \` (resolved to "file://\${state}")\`;
  fail(\`unable to open state directory "\${url}"\${resolved}: stat \${state}: no such file or directory\`, 1);
}

const stackFile = (name) => path.join(state, ".pulumi", "stacks", project.name, \`\${name}.json\`);
const load = (name) => (fs.existsSync(stackFile(name)) ? JSON.parse(fs.readFileSync(stackFile(name), "utf8")) : undefined);
const save = (name, stack) => {
  fs.mkdirSync(path.dirname(stackFile(name)), { recursive: true });
  fs.writeFileSync(stackFile(name), JSON.stringify(stack, null, 2));
};
const existing = (name) => {
  if (!name) fail("no stack selected; specify a stack name with --stack", 6);
  return load(name) ?? fail(\`no stack named '\${name}' found\`, 6);
};
const needPassphrase = (stack) => {
  if (stack.secretsProvider === "passphrase" && env.PULUMI_CONFIG_PASSPHRASE === undefined && !env.PULUMI_CONFIG_PASSPHRASE_FILE) {
    fail('constructing secrets manager of type "passphrase": passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE environment variables', 1);
  }
};
const create = (name) => {
  if (load(name)) fail(\`stack '\${name}' already exists\`, 1);
  const stack = { secretsProvider: flags.get("--secrets-provider") ?? "passphrase", resources: 0, outputs: {}, history: [] };
  needPassphrase(stack);
  save(name, stack);
  say(\`Created stack '\${name}'\`);
};

if (command === "stack" && subcommand === "select") {
  if (!stackName) fail("no stack selected; specify a stack name with --stack", 6);
  if (!load(stackName)) has("--create", "-c") ? create(stackName) : existing(stackName);
} else if (command === "stack" && subcommand === "init") {
  create(stackName);
} else if (command === "stack" && subcommand === "output") {
  const stack = existing(stackName);
  if (has("--show-secrets")) needPassphrase(stack);
  say(JSON.stringify(stack.outputs, null, 2));
} else if (command === "stack" && subcommand === "history") {
  const stack = existing(stackName);
  if (has("--show-secrets")) needPassphrase(stack);
  const size = Number(flags.get("--page-size") ?? 10);
  const page = Number(flags.get("--page") ?? 1);
  say(JSON.stringify(stack.history.toReversed().slice((page - 1) * size, page * size), null, 4));
} else if (command === "stack" && subcommand === "rm") {
  const name = words[2] ?? stackName;
  const stack = existing(name);
  if (stack.resources > 0 && !has("--force", "-f")) fail(\`'\${name}' still has resources; removal rejected. Possible actions:\`, 1);
  fs.rmSync(stackFile(name));
  if (!has("--preserve-config")) fs.rmSync(\`Pulumi.\${name}.yaml\`, { force: true });
  say(\`Stack '\${name}' has been removed!\`);
} else if (command === "stack" && subcommand === "export") {
  const stack = existing(stackName);
  const resources = Array.from({ length: stack.resources }, (_, index) => ({ urn: \`urn:pulumi:\${stackName}::\${project.name}::stub:Resource::r\${index}\`, type: "stub:Resource" }));
  say(JSON.stringify({ version: 3, deployment: { manifest: { time: new Date().toISOString() }, ...(resources.length > 0 && { resources }) } }, null, 4));
} else if (command === "config" && subcommand === "set") {
  // config set [--path] <key> --stack <s> --plaintext --non-interactive -- <value>: written into Pulumi.<s>.yaml.
  existing(stackName);
  const [, , key, value = ""] = words;
  const file = \`Pulumi.\${stackName}.yaml\`;
  const document = YAML.parseDocument(fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "config: {}\\n");
  const [namespace, ...rest] = key.split(":");
  const keys = has("--path") ? rest.join(":").split(".") : [rest.join(":")];
  // A nested --path value that reads as a bool or an integer is stored as one
  // (config/value.go coerceObject, object.go coerce: not with a leading 0); anything else is a string.
  const coerced = keys.length > 1 && /^(true|false)$/.test(value) ? value === "true" : keys.length > 1 && /^(0|-?[1-9][0-9]*)$/.test(value) ? Number(value) : value;
  document.setIn(["config", \`\${namespace}:\${keys[0]}\`, ...keys.slice(1)], coerced);
  fs.writeFileSync(file, document.toString());
} else if (["up", "preview", "refresh", "destroy"].includes(command)) {
  operate(command, existing(stackName));
} else {
  fail(\`the Pulumi stub does not know \\\`pulumi \${args.join(" ")}\\\`\`, 1);
}

function operate(command, stack) {
  const name = stackName;
  needPassphrase(stack);
  const preview = command === "preview" || has("--preview-only");
  if (!preview && !has("--yes", "-y", "--skip-preview") && env.PULUMI_SKIP_CONFIRMATIONS !== "true") {
    fail("--yes or --skip-preview or --preview-only must be passed in to proceed when running in non-interactive mode", 2);
  }
  const banner = { up: "Updating", preview: "Previewing update", refresh: "Refreshing", destroy: "Destroying" }[command];
  const deployed = stack.resources;
  const changes = command === "destroy" ? { delete: deployed } : command === "refresh" || deployed > 0 ? { same: deployed } : { create: 5 };
  const startTime = new Date();
  const at = () => (performance.timeOrigin + performance.now()).toFixed(3);
  say(\`\${banner} (\${name}):\`);

  let signals = 0;
  let timer;
  const end = async (result) => {
    record(env.STUB_TIMES, \`end \${name} \${command} \${at()}\`);
    const done = result === "succeeded" ? Object.fromEntries(Object.entries(changes).filter(([, count]) => count > 0)) : {};
    if (result === "succeeded") {
      const verb = { create: preview ? "to create" : "created", delete: preview ? "to delete" : "deleted", same: "unchanged" };
      say("Resources:");
      for (const [operation, count] of Object.entries(done)) say(\`    \${operation === "same" ? "" : operation === "create" ? "+ " : "- "}\${count} \${verb[operation]}\`);
    } else {
      say(\`Diagnostics:\\n  pulumi:pulumi:Stack (\${project.name}-\${name}):\\n    error: \${preview ? "preview" : "update"} \${result}\`);
    }
    const eventLog = flags.get("--event-log");
    if (eventLog?.startsWith("tcp://")) {
      const durationSeconds = Math.round((Date.now() - startTime.getTime()) / 1000);
      await streamEvents(eventLog.slice("tcp://".length), [
        { summaryEvent: { maybeCorrupt: false, durationSeconds, resourceChanges: done, policyPacks: {}, isPreview: preview } },
        { cancelEvent: {} },
      ]);
    }
    if (!preview) {
      const seconds = (date) => date.toISOString().replace(/\\.\\d+Z$/, "Z");
      stack.history.push({
        version: stack.history.length + 1,
        kind: command === "up" ? "update" : command,
        startTime: seconds(startTime),
        message: "",
        environment: { "exec.kind": flags.get("--exec-kind") ?? "cli" },
        config: {},
        result: result === "succeeded" ? "succeeded" : "failed",
        endTime: seconds(new Date()),
        resourceChanges: done,
      });
      if (result === "succeeded") stack.resources = command === "destroy" ? 0 : command === "up" ? 5 : stack.resources;
      save(name, stack);
    }
    if (result !== "succeeded") process.exit(1);
    const operation = { up: "update", preview: "preview", refresh: "refresh" }[command];
    if (has("--expect-no-changes") && operation && Object.keys(done).some((key) => key !== "same")) {
      fail(\`no changes were expected for \${operation} but changes were proposed\`, 7);
    }
    process.exit(0);
  };
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, () => {
      record(env.STUB_TIMES, \`\${signal} \${name} \${command} \${at()}\`);
      const shown = signal === "SIGINT" ? "^C" : "SIGTERM";
      if (++signals > 1) {
        say(\`\${shown} received; terminating\`);
        process.exit(1);
      }
      say(signal === "SIGINT"
        ? "^C received; cancelling. If you would like to terminate immediately, press ^C again."
        : "SIGTERM received; cancelling. If you would like to terminate immediately, send SIGTERM again.");
      if (!preview) say("Note that terminating immediately may lead to orphaned resources and other inconsistencies.");
      clearTimeout(timer);
      timer = setTimeout(() => end("canceled"), 300);
    });
  }
  // Recorded once a signal can no longer kill it: a test that signals on "start" is never early.
  record(env.STUB_TIMES, \`start \${name} \${command} \${at()}\`);
  const failing = (env.STUB_FAIL ?? "").split(/[\\s,]+/).includes(name);
  const seconds = Number(env[\`STUB_SECONDS_\${command.toUpperCase()}\`] ?? env.STUB_SECONDS ?? 0.1);
  // A barrier: with STUB_BARRIER=n, no operation goes on until n have started (their runs overlap).
  const started = () => fs.readFileSync(env.STUB_TIMES, "utf8").split("\\n").filter((line) => line.startsWith("start ")).length;
  const barrier = Number(env.STUB_BARRIER ?? 0);
  const proceed = () => {
    if (signals > 0) return;
    if (started() < barrier) return void (timer = setTimeout(proceed, 10));
    timer = setTimeout(() => end(failing ? "failed" : "succeeded"), seconds * 1000);
  };
  proceed();
}

/** Sends engine events to the Automation API's Events service, as Pulumi does for --event-log tcp://. */
function streamEvents(address, events) {
  const grpc = sdk("@grpc/grpc-js");
  const { EventsClient } = sdk("./events_grpc_pb.js");
  const { EventRequest } = sdk("./events_pb.js");
  const client = new EventsClient(address, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    const call = client.streamEvents((error) => {
      client.close();
      if (error) reject(error);
      else resolve();
    });
    events.forEach((event, sequence) => {
      const request = new EventRequest();
      request.setEvent(JSON.stringify({ sequence, timestamp: Math.floor(Date.now() / 1000), ...event }));
      call.write(request);
    });
    call.end();
  });
}
`;

export interface PulumiStub {
  /** The installation root: `<root>/bin/pulumi` is the stub (the Automation API's PulumiCommand.get({ root })). */
  readonly root: string;
  /** The folder holding `pulumi`, to put first on PATH. */
  readonly bin: string;
  /**
   * An environment with the stub first on PATH, recording calls and times, plus `extra`. The
   * Automation API adds this process's own environment underneath: the Pulumi variables that
   * would change what the tools do are set empty, which both the tools and Pulumi take as unset.
   */
  env(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  /** The calls recorded so far, one a line; empty when there were none. */
  calls(): string[];
  /** The start, end and signal lines recorded so far. */
  times(): string[];
  remove(): void;
}

/** Writes the stub into a new temporary folder as `<root>/bin/pulumi`. */
export function createPulumiStub(): PulumiStub {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-stub-"));
  const bin = path.join(root, "bin");
  fs.mkdirSync(bin);
  fs.writeFileSync(
    path.join(bin, "pulumi"),
    script({ yaml: resolveModule("yaml"), eventsGrpc: resolveModule("@pulumi/pulumi/proto/events_grpc_pb") }),
    {
      mode: 0o755,
    },
  );
  const callsFile = path.join(root, "calls");
  const timesFile = path.join(root, "times");
  const lines = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim().split("\n") : []);
  return {
    root,
    bin,
    env: (extra = {}) => ({
      PATH: `${bin}:/usr/local/bin:/usr/bin:/bin`,
      HOME: os.homedir(),
      PULUMI_BACKEND_URL: "",
      PULUMI_CONFIG_PASSPHRASE_FILE: "",
      PULUMI_K8S_DELETE_UNREACHABLE: "",
      STUB_CALLS: callsFile,
      STUB_TIMES: timesFile,
      ...extra,
    }),
    calls: () => lines(callsFile),
    times: () => lines(timesFile),
    remove: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}
