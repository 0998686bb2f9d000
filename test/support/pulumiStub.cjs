// The Pulumi CLI stand-in (v3.270) that test/support/pulumiStub.ts installs as `pulumi`: it
// answers exactly the calls our tools and the Automation API make, failures included, so the
// lifecycle and end-to-end tests run without Pulumi or a cluster. Where each behaviour comes
// from, in pulumi/pulumi (read at v3.259.0, the newest tag of the stored snapshot, and HEAD):
// - state backend: PULUMI_BACKEND_URL, else Pulumi.yaml `backend.url`; a `file://` folder is
//   resolved against the working directory and never created; when it is missing every command
//   but `version` fails (pkg/backend/diy/backend.go newDIYBackend, #24335; #15841);
// - flags: each command knows its own and the root's (pkg/cmd/pulumi/operations/*.go, stack/,
//   config/, pulumi.go); any other is refused as pflag does: "unknown flag: --x", exit 1;
// - stacks: `stack select` (stack/stack_select.go), `stack init`, `stack rm` (stack_remove.go and
//   ui.ConfirmDeletion: without --yes and without a terminal, "non-interactive mode requires
//   --yes flag"), and their errors (pkg/backend/backenderr), which the Automation API turns into
//   StackNotFoundError / StackAlreadyExistsError (automation/errors.js);
// - exit codes: pkg/cmd/pulumi/cmd/exit_codes.go ExitCodeFor: 1 for a failed or cancelled
//   operation (a "bail") and most errors; 2 for `up`/`destroy` without --yes and no terminal
//   (NoConfirmationInNonInteractiveError; `refresh` builds the same text as a plain error: 1);
//   6 for a missing stack; 7 for changes under --expect-no-changes (an update applies them
//   first); 8 for an update terminated by a second signal (CancelledError, "update cancelled");
// - operations: the "Updating (<s>):" banner (pkg/backend/apply.go), the engine's "update
//   failed" / "update canceled" (pkg/resource/deploy/deployment_executor.go reportExecResult),
//   the passphrase rule (pkg/secrets/passphrase/manager.go: a set PULUMI_CONFIG_PASSPHRASE counts
//   even when empty);
// - signals: pkg/backend/cancellation_scope.go: the first SIGINT (or SIGTERM) cancels with its
//   message on stdout, a second one terminates at once;
// - `--event-log tcp://host:port`: the Events gRPC service (proto/pulumi/events.proto,
//   StreamEvents, client streaming) that the Automation API starts for preview, and for up when
//   onEvent is set (automation/stack.js setupEventLog);
// - `stack history --json`: updateInfoJSON in pkg/cmd/pulumi/stack/stack_history.go.
// Not modelled: prompts (it behaves as if no terminal were attached), the current stack of the
// workspace (every operation needs --stack), Pulumi Cloud and bucket backends, the program itself.
// A stack's file holds the stub's own record (secrets provider, resource count, outputs, history),
// not Pulumi's checkpoint format. A stack has 5 resources once up: the first up creates them, a
// destroy deletes them. A test may add GitHub deploy keys to the record (`deployKeys: [{ urn, id:
// "<repo>:<key id>", owner, onGitHub }]`), which behave as the GitHub provider's
// RepositoryDeployKey does (terraform-provider-github v6.13 resource_github_repository_deploy_key.go;
// go-github's ErrorResponse for the messages): a refresh of one that is not on GitHub drops it
// from the state (Read on a 404), a destroy of one fails on the 404 (Delete passes it through),
// and with $STUB_GITHUB_REFUSES set every call to GitHub fails with 401 Bad credentials (a
// deleted or expired token). `--target` takes a URN or a URN glob (pkg/resource/deploy
// deployment.go UrnTargets: `**` any text, `*` within a segment); a URN that is not in the state
// fails a refresh or destroy (pkg/engine/deployment.go checkTargets, which only refresh.go and
// destroy.go call). A test may add the flux2 chart's Helm release of a stack made before Flux
// Operator (`flux2Release: { urn, retainOnDelete }`): `stack export` lists it, `stack import
// --file` (stack/stack_import.go: the file must open and be a deployment) takes its
// retainOnDelete from the file (and drops the record's `pendingOperations`, as import does with
// pending operations: pkg/backend/diy io.go), and the next successful `up` drops it, as the program no longer
// has it: retained, or else uninstalled (recorded as `helmUninstalled`, what Helm's uninstall
// would do to the controllers; pkg/resource/deploy/step.go DeleteStep skips the provider's Delete
// of an old state's RetainOnDelete resource). `refresh --preview-only --json` prints
// the preview digest (pkg/backend/display/json.go ShowPreviewDigest: steps, changeSummary).
//
// For tests: every call is appended to $STUB_CALLS as
// `<args> | passphrase=<PULUMI_CONFIG_PASSPHRASE> backend=<PULUMI_BACKEND_URL> unreachable=<PULUMI_K8S_DELETE_UNREACHABLE>`;
// `<start|end|SIGINT|SIGTERM> <stack> <command> <epoch ms>` lines go to $STUB_TIMES ("start"
// once its signal handlers are in place); an operation takes $STUB_SECONDS_<COMMAND>
// (STUB_SECONDS_UP, ...), else $STUB_SECONDS (default 0.1), and fails for the stacks named in
// $STUB_FAIL; cancelling takes $STUB_CANCEL_SECONDS (default 0.3). $STUB_BARRIER=n: no
// operation goes on before n have started. $STUB_HOLD="<words>": the first call that begins
// with them writes "hold <args>" to $STUB_TIMES and waits until the file "$STUB_TIMES.go" exists.
"use strict";
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
// Loaded only by `config set`: most calls would otherwise spend half their time loading it.
const yaml = () => require("yaml");
const sdk = require("node:module").createRequire(require.resolve("@pulumi/pulumi/proto/events_grpc_pb"));

const args = process.argv.slice(2);
const env = process.env;
const record = (file, line) => file && fs.appendFileSync(file, line + "\n");
const say = (line) => process.stdout.write(line + "\n");
const fail = (message, code) => {
  process.stderr.write("error: " + message + "\n");
  process.exit(code);
};
if (args[0] === "version") {
  say("v3.270.0");
  process.exit(0);
}
record(
  env.STUB_CALLS,
  `${args.join(" ")} | passphrase=${env.PULUMI_CONFIG_PASSPHRASE ?? ""} backend=${env.PULUMI_BACKEND_URL ?? ""} unreachable=${env.PULUMI_K8S_DELETE_UNREACHABLE ?? ""}`,
);
if (env.STUB_HOLD && args.join(" ").startsWith(env.STUB_HOLD)) {
  record(env.STUB_TIMES, `hold ${args.join(" ")}`);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while (!fs.existsSync(`${env.STUB_TIMES}.go`)) Atomics.wait(pause, 0, 0, 10);
}

// Each command's flags, as `--name` or `--name|-x`, and whether they take a value ("="); a flag
// with a default for its bare form (--refresh, --suppress-permalink) is written as a boolean.
const rootFlags =
  "--color= --cwd|-C= --disable-integrity-checking --emoji|-e --fully-qualify-stack-names|-Q --logflow --logtostderr --memprofilerate= --non-interactive --otel-traces= --profiling= --tracing= --tracing-header= --verbose|-v= --help|-h";
const operationFlags =
  "--stack|-s= --config-file= --client= --exec-kind= --exec-agent= --event-log= --message|-m= --parallel|-p= --target|-t= --diff --expect-no-changes --json|-j --debug|-d --suppress-outputs --suppress-progress --suppress-permalink --show-sames --show-replacement-steps --skip-preview|-f --yes|-y --refresh|-r --target-dependents --exclude|-x= --exclude-dependents --config|-c= --config-path --run-program --neo --copilot --skip-plugin-pre-install --skip-config-validation --urns --output=";
const commandFlags = {
  up: `${operationFlags} --replace= --target-replace= --policy-pack= --policy-pack-config= --show-config --show-reads --show-secrets --show-full-output --secrets-provider= --strict --continue-on-error --attach-debugger= --plan= --ignore-protect`,
  preview: `${operationFlags} --replace= --target-replace= --policy-pack= --policy-pack-config= --show-config --show-reads --show-secrets --show-full-output --save-plan= --import-file= --ignore-protect`,
  refresh: `${operationFlags} --preview-only --clear-pending-creates --import-pending-creates= --skip-pending-creates`,
  destroy: `${operationFlags} --preview-only --remove --exclude-protected --continue-on-error --show-config --show-full-output`,
  "stack select": "--stack|-s= --create|-c --secrets-provider=",
  "stack init": "--stack|-s= --secrets-provider= --copy-config-from= --no-select --teams= --yes|-y",
  "stack rm": "--stack|-s= --force|-f --preserve-config --remove-backups --yes|-y",
  "stack output": "--stack|-s= --json|-j --shell --show-secrets",
  "stack history": "--stack|-s= --full-dates --page= --page-size= --show-secrets --json|-j",
  "stack export": "--stack|-s= --file= --show-secrets --version=",
  "stack import": "--stack|-s= --file= --force|-f",
  "config set": "--stack|-s= --config-file= --path --plaintext --secret --type= --raw",
};
const [command, subcommand] = args.filter((arg) => !arg.startsWith("-"));
const known = commandFlags[command] !== undefined ? command : `${command} ${subcommand}`;
if (commandFlags[known] === undefined) fail(`the Pulumi stub does not know \`pulumi ${args.join(" ")}\``, 1);
const spec = new Map();
for (const entry of `${rootFlags} ${commandFlags[known]}`.split(" ")) {
  const valued = entry.endsWith("=");
  const [long, short] = entry.replace(/=$/, "").split("|");
  spec.set(long, { long, valued });
  if (short) spec.set(short, { long, valued });
}

// --flag value, --flag=value, -x value, or a boolean flag (pflag); the rest are words.
const flags = new Map();
const words = [];
for (let index = 0; index < args.length; index++) {
  const arg = args[index];
  if (arg === "--") {
    words.push(...args.slice(index + 1));
    break;
  }
  if (!arg.startsWith("-")) {
    words.push(arg);
    continue;
  }
  // pflag's shorthand: -p8 is -p with the value 8 attached; -fy, booleans -f and -y.
  if (!arg.startsWith("--") && arg.length > 2 && !arg.includes("=")) {
    for (let at = 1; at < arg.length; at++) {
      const short = spec.get(`-${arg[at]}`);
      if (!short) fail(`unknown shorthand flag: '${arg[at]}' in ${arg}`, 1);
      if (short.valued) {
        flags.set(short.long, at + 1 < arg.length ? arg.slice(at + 1) : args[++index]);
        break;
      }
      flags.set(short.long, "true");
    }
    continue;
  }
  const [name, inline] = arg.split(/=(.*)/s);
  const flag = spec.get(name);
  if (!flag) fail(name.startsWith("--") ? `unknown flag: ${name}` : `unknown shorthand flag: '${name.slice(1)}' in ${arg}`, 1);
  flags.set(flag.long, inline ?? (flag.valued ? args[++index] : "true"));
}
const has = (name) => flags.has(name) && flags.get(name) !== "false";
const stackName = flags.get("--stack") ?? (command === "stack" ? words[2] : undefined);

if (!fs.existsSync("Pulumi.yaml")) {
  fail(
    `no Pulumi.yaml project file found (searching upwards from ${process.cwd()}). If you have not created a project yet, use \`pulumi new\` to do so: no project file found`,
    1,
  );
}
// name: and backend: url: of the project's own Pulumi.yaml, read by line (plain YAML there).
const projectText = fs.readFileSync("Pulumi.yaml", "utf8");
const project = {
  name: /^name:\s*(\S+)/m.exec(projectText)?.[1],
  backend: { url: /^backend:\n(?:[ \t]+#.*\n)*[ \t]+url:\s*(\S+)/m.exec(projectText)?.[1] },
};
const url = env.PULUMI_BACKEND_URL || project.backend?.url;
if (!url?.startsWith("file://")) fail(`the Pulumi stub has only file:// state backends, not ${url ?? "the Pulumi Cloud"}`, 1);
const state = path.resolve(
  url
    .slice("file://".length)
    .split("?")[0]
    .replace(/^~(?=\/|$)/, os.homedir()),
);
if (!fs.existsSync(state)) {
  const resolved = `file://${state}` === url ? "" : ` (resolved to "file://${state}")`;
  fail(`unable to open state directory "${url}"${resolved}: stat ${state}: no such file or directory`, 1);
}

const stackFile = (name) => path.join(state, ".pulumi", "stacks", project.name, `${name}.json`);
const load = (name) => (fs.existsSync(stackFile(name)) ? JSON.parse(fs.readFileSync(stackFile(name), "utf8")) : undefined);
const save = (name, stack) => {
  fs.mkdirSync(path.dirname(stackFile(name)), { recursive: true });
  fs.writeFileSync(stackFile(name), JSON.stringify(stack, null, 2));
};
const existing = (name) => {
  if (!name) fail("no stack selected; specify a stack name with --stack", 6);
  return load(name) ?? fail(`no stack named '${name}' found`, 6);
};
const needPassphrase = (stack) => {
  if (stack.secretsProvider === "passphrase" && env.PULUMI_CONFIG_PASSPHRASE === undefined && !env.PULUMI_CONFIG_PASSPHRASE_FILE) {
    fail(
      'constructing secrets manager of type "passphrase": passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE environment variables',
      1,
    );
  }
};
const deployKeyType = "github:index/repositoryDeployKey:RepositoryDeployKey";
const stubUrn = (index) => `urn:pulumi:${stackName}::${project.name}::stub:Resource::r${index}`;
/** A --target: a URN, or a glob of one. */
const targetMatcher = (target) =>
  new RegExp(
    "^" +
      target
        .split("**")
        .map((segment) =>
          segment
            .split("*")
            .map((text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
            .join("[^:]*"),
        )
        .join(".*") +
      "$",
  );
/** What GitHub answers for a deploy key, as go-github words a failed call; undefined when it succeeds. */
const githubError = (method, key) => {
  const [repository, id] = key.id.split(":");
  const url = `https://api.github.com/repos/${key.owner}/${repository}/keys/${id}`;
  if (env.STUB_GITHUB_REFUSES) return `${method} ${url}: 401 Bad credentials []`;
  if (!key.onGitHub) return `${method} ${url}: 404 Not Found []`;
  return undefined;
};
const create = (name) => {
  if (load(name)) fail(`stack '${name}' already exists`, 1);
  const stack = { secretsProvider: flags.get("--secrets-provider") ?? "passphrase", resources: 0, outputs: {}, history: [] };
  needPassphrase(stack);
  save(name, stack);
  say(`Created stack '${name}'`);
};

if (known === "stack select") {
  if (!stackName) fail("no stack selected; specify a stack name with --stack", 6);
  if (!load(stackName)) {
    if (has("--create")) create(stackName);
    else existing(stackName);
  }
} else if (known === "stack init") {
  create(stackName);
} else if (known === "stack output") {
  const stack = existing(stackName);
  if (has("--show-secrets")) needPassphrase(stack);
  say(JSON.stringify(stack.outputs, null, 2));
} else if (known === "stack history") {
  const stack = existing(stackName);
  if (has("--show-secrets")) needPassphrase(stack);
  const size = Number(flags.get("--page-size") ?? 10);
  const page = Number(flags.get("--page") ?? 1);
  say(JSON.stringify(stack.history.toReversed().slice((page - 1) * size, page * size), null, 4));
} else if (known === "stack rm") {
  const name = words[2] ?? stackName;
  const stack = existing(name);
  if (!has("--yes")) fail("non-interactive mode requires --yes flag", 1);
  if (stack.resources > 0 && !has("--force")) {
    fail(
      `'${name}' still has resources; removal rejected. Possible actions:\n` +
        `- Make sure that '${name}' is the stack that you want to destroy\n` +
        "- Run `pulumi destroy` to delete the resources, then run `pulumi stack rm`\n" +
        "- Run `pulumi stack rm --force` to override this error",
      1,
    );
  }
  fs.rmSync(stackFile(name));
  if (!has("--preserve-config")) fs.rmSync(`Pulumi.${name}.yaml`, { force: true });
  say(`Stack '${name}' has been removed!`);
} else if (known === "stack export") {
  const stack = existing(stackName);
  const resources = [
    ...Array.from({ length: stack.resources }, (_, index) => ({ urn: stubUrn(index), type: "stub:Resource" })),
    ...(stack.deployKeys ?? []).map(({ urn, id }) => ({ urn, type: deployKeyType, id })),
    ...(stack.flux2Release
      ? [
          {
            urn: stack.flux2Release.urn,
            type: "kubernetes:helm.sh/v3:Release",
            inputs: { chart: "flux2", name: "flux", version: "2.18.3" },
            ...(stack.flux2Release.retainOnDelete && { retainOnDelete: true }),
          },
        ]
      : []),
  ];
  say(
    JSON.stringify(
      {
        version: 3,
        deployment: {
          manifest: { time: new Date().toISOString() },
          ...(resources.length > 0 && { resources }),
          ...(stack.pendingOperations && { pending_operations: stack.pendingOperations }),
        },
      },
      null,
      4,
    ),
  );
} else if (known === "stack import") {
  const stack = existing(stackName);
  const file = flags.get("--file");
  if (file === undefined) fail("the Pulumi stub reads an import from --file only, not standard input", 1);
  if (!fs.existsSync(file)) fail(`could not open file: open ${file}: no such file or directory`, 1);
  let deployment;
  try {
    deployment = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (error) {
    fail(`could not read deployment: ${error.message}`, 1);
  }
  if (deployment?.version !== 3 || typeof deployment.deployment !== "object")
    fail("could not deserialize deployment: unsupported version", 1);
  needPassphrase(stack);
  const imported = (deployment.deployment.resources ?? []).find((resource) => resource.urn === stack.flux2Release?.urn);
  delete stack.pendingOperations;
  if (stack.flux2Release) {
    if (imported === undefined) delete stack.flux2Release;
    else stack.flux2Release.retainOnDelete = imported.retainOnDelete === true;
  }
  save(stackName, stack);
  say("Import complete.");
} else if (known === "config set") {
  // config set [--path] <key> --stack <s> --plaintext --non-interactive -- <value>: written into Pulumi.<s>.yaml.
  existing(stackName);
  const [, , key, value = ""] = words;
  const file = `Pulumi.${stackName}.yaml`;
  const document = yaml().parseDocument(fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "config: {}\n");
  const [namespace, ...rest] = key.split(":");
  const keys = has("--path") ? rest.join(":").split(".") : [rest.join(":")];
  // A nested --path value that reads as a bool or an integer is stored as one
  // (config/value.go coerceObject, object.go coerce: not with a leading 0); anything else is a string.
  const coerced =
    keys.length > 1 && /^(true|false)$/.test(value)
      ? value === "true"
      : keys.length > 1 && /^(0|-?[1-9][0-9]*)$/.test(value)
        ? Number(value)
        : value;
  document.setIn(["config", `${namespace}:${keys[0]}`, ...keys.slice(1)], coerced);
  fs.writeFileSync(file, document.toString());
} else {
  operate(command, existing(stackName));
}

function operate(command, stack) {
  const name = stackName;
  needPassphrase(stack);
  const preview = command === "preview" || has("--preview-only");
  if (!preview && !has("--yes") && !has("--skip-preview") && env.PULUMI_SKIP_CONFIRMATIONS !== "true") {
    fail(
      "--yes or --skip-preview or --preview-only must be passed in to proceed when running in non-interactive mode",
      command === "refresh" ? 1 : 2,
    );
  }
  const banner = { up: "Updating", preview: "Previewing update", refresh: "Refreshing", destroy: "Destroying" }[command];
  const deployed = stack.resources;
  const keys = stack.deployKeys ?? [];
  const target = flags.get("--target");
  // Only refresh and destroy check their targets against the state (an update may target what it creates).
  if ((command === "refresh" || command === "destroy") && target !== undefined && !target.includes("*")) {
    const urns = [...Array.from({ length: deployed }, (_, index) => stubUrn(index)), ...keys.map((key) => key.urn)];
    if (!urns.includes(target)) fail(`no resource named '${target}' found`, 1);
  }
  const targeted = (urn) => target === undefined || targetMatcher(target).test(urn);
  // What GitHub says of the deploy keys this operation reads (refresh) or deletes (destroy).
  const keyCalls = command === "refresh" ? keys.filter((key) => targeted(key.urn)) : command === "destroy" ? keys : [];
  const keyErrors = keyCalls.flatMap((key) => {
    const error = githubError(command === "refresh" ? "GET" : "DELETE", key);
    // Read drops a key GitHub no longer has; every other failure is an error.
    return error === undefined || (command === "refresh" && !env.STUB_GITHUB_REFUSES) ? [] : [`${key.urn}: ${error}`];
  });
  const keysGone = command === "refresh" && keyErrors.length === 0 ? keyCalls.filter((key) => !key.onGitHub) : [];
  const refreshed = target === undefined ? deployed : 0;
  const changes =
    command === "destroy"
      ? { delete: deployed + keys.length }
      : command === "refresh"
        ? { same: refreshed + keyCalls.length - keysGone.length, delete: keysGone.length }
        : deployed > 0
          ? { same: deployed + keys.length, delete: command === "up" && stack.flux2Release ? 1 : 0 }
          : { create: 5 };
  const json = has("--json");
  const startTime = new Date();
  const at = () => (performance.timeOrigin + performance.now()).toFixed(3);
  if (!json) say(`${banner} (${name}):`);

  let signals = 0;
  let timer;
  const end = async (result) => {
    record(env.STUB_TIMES, `end ${name} ${command} ${at()}`);
    const done = result === "succeeded" ? Object.fromEntries(Object.entries(changes).filter(([, count]) => count > 0)) : {};
    if (json && result === "succeeded") {
      // The preview digest; Pulumi prints engine events, one JSON a line, for an operation that is not a preview.
      const steps = keysGone.map((key) => ({ op: "delete", urn: key.urn }));
      say(JSON.stringify({ steps, changeSummary: done, duration: 0 }, null, 4));
    } else if (result === "succeeded") {
      const verb = { create: preview ? "to create" : "created", delete: preview ? "to delete" : "deleted", same: "unchanged" };
      say("Resources:");
      for (const [operation, count] of Object.entries(done)) {
        say(`    ${operation === "same" ? "" : operation === "create" ? "+ " : "- "}${count} ${verb[operation]}`);
      }
    } else {
      const errors = result === "failed" && keyErrors.length > 0 ? keyErrors : [`${preview ? "preview" : "update"} ${result}`];
      say(`Diagnostics:\n  pulumi:pulumi:Stack (${project.name}-${name}):\n${errors.map((error) => `    error: ${error}`).join("\n")}`);
      if (result === "failed" && keyErrors.length > 0) keyErrors.forEach((error) => process.stderr.write(`error: ${error}\n`));
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
      const seconds = (date) => date.toISOString().replace(/\.\d+Z$/, "Z");
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
      if (result === "succeeded") {
        stack.resources = command === "destroy" ? 0 : command === "up" ? 5 : stack.resources;
        if (command === "destroy") {
          delete stack.deployKeys;
          delete stack.flux2Release;
        } else if (keysGone.length > 0) stack.deployKeys = keys.filter((key) => !keysGone.includes(key));
        if (command === "up" && stack.flux2Release) {
          if (!stack.flux2Release.retainOnDelete) stack.helmUninstalled = [stack.flux2Release.urn];
          delete stack.flux2Release;
        }
      }
      save(name, stack);
    }
    if (result !== "succeeded") process.exit(1);
    const operation = { up: "update", preview: "preview", refresh: "refresh" }[command];
    if (has("--expect-no-changes") && operation && Object.keys(done).some((key) => key !== "same")) {
      fail(`no changes were expected for ${operation} but changes were proposed`, 7);
    }
    process.exit(0);
  };
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, () => {
      record(env.STUB_TIMES, `${signal} ${name} ${command} ${at()}`);
      const shown = signal === "SIGINT" ? "^C" : "SIGTERM";
      if (++signals > 1) {
        say(`${shown} received; terminating`);
        fail(`${preview ? "preview" : "update"} cancelled`, 8);
      }
      say(
        signal === "SIGINT"
          ? "^C received; cancelling. If you would like to terminate immediately, press ^C again."
          : "SIGTERM received; cancelling. If you would like to terminate immediately, send SIGTERM again.",
      );
      if (!preview) say("Note that terminating immediately may lead to orphaned resources and other inconsistencies.");
      clearTimeout(timer);
      timer = setTimeout(() => end("canceled"), Number(env.STUB_CANCEL_SECONDS ?? 0.3) * 1000);
    });
  }
  // Recorded once a signal can no longer kill it: a test that signals on "start" is never early.
  record(env.STUB_TIMES, `start ${name} ${command} ${at()}`);
  const failing = (env.STUB_FAIL ?? "").split(/[\s,]+/).includes(name);
  const seconds = Number(env[`STUB_SECONDS_${command.toUpperCase()}`] ?? env.STUB_SECONDS ?? 0.1);
  const started = () =>
    fs
      .readFileSync(env.STUB_TIMES, "utf8")
      .split("\n")
      .filter((line) => line.startsWith("start ")).length;
  const barrier = Number(env.STUB_BARRIER ?? 0);
  const proceed = () => {
    if (signals > 0) return;
    if (barrier > 0 && started() < barrier) {
      timer = setTimeout(proceed, 10);
      return;
    }
    timer = setTimeout(() => end(failing || keyErrors.length > 0 ? "failed" : "succeeded"), seconds * 1000);
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
