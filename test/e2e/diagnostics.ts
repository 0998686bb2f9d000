// What a failed run saves before cleanup, so the failure explains itself: the cluster's pods,
// events and Flux objects, the logs of Flux Operator and the Flux controllers, kind's own logs, and Pulumi's diff when a
// "no changes" check failed. Each part is saved on its own; a part that cannot be is noted.
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import type { Stack } from "@pulumi/pulumi/automation/index.js";
import type { CommandResult, Machine } from "../../tools/machine.ts";
import { log, messageOf } from "./common.ts";
import { kubeconfigOf, type Run } from "./throwawayStack.ts";

/** Flux's kinds whose status says where a reconciliation stands. */
const fluxKinds = [
  { group: "fluxcd.controlplane.io", version: "v1", plural: "fluxinstances" },
  { group: "helm.toolkit.fluxcd.io", version: "v2", plural: "helmreleases" },
  { group: "source.toolkit.fluxcd.io", version: "v1", plural: "helmrepositories" },
  { group: "source.toolkit.fluxcd.io", version: "v1", plural: "gitrepositories" },
  { group: "kustomize.toolkit.fluxcd.io", version: "v1", plural: "kustomizations" },
  { group: "image.toolkit.fluxcd.io", version: "v1", plural: "imagerepositories" },
  { group: "image.toolkit.fluxcd.io", version: "v1", plural: "imagepolicies" },
];

export interface DiagnosticsOptions {
  readonly fluxNamespace: string;
  /** The stack, to ask Pulumi for its diff when a "no changes" check failed. */
  readonly stack?: Stack;
  readonly previewDiff?: boolean;
}

/** Why a command failed, in a line: what it said, or that it is missing or timed out. */
const whyFailed = (result: CommandResult) =>
  !result.found ? "not on PATH" : result.timedOut ? "timed out" : (result.stderr ?? "").trim() || `exit code ${result.exitCode}`;

/** Saves the bundle into `dir` (created); returns the files it holds. Never throws. */
export async function saveDiagnostics(dir: string, run: Run, machine: Machine, options: DiagnosticsOptions): Promise<string[]> {
  fs.mkdirSync(dir, { recursive: true });
  const notes: string[] = [];
  const write = (file: string, content: unknown) => {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), typeof content === "string" ? content : YAML.stringify(content, { lineWidth: 0 }));
  };
  const part = async (what: string, save: () => Promise<void> | void) => {
    try {
      await save();
    } catch (error) {
      notes.push(`${what}: ${messageOf(error).split("\n")[0]}`);
    }
  };

  const kubeconfig = kubeconfigOf(run);
  if (fs.existsSync(kubeconfig)) {
    const k8s = await import("@kubernetes/client-node");
    const config = new k8s.KubeConfig();
    config.loadFromFile(kubeconfig);
    const core = config.makeApiClient(k8s.CoreV1Api);
    const custom = config.makeApiClient(k8s.CustomObjectsApi);
    await part("pods", async () => {
      const pods = (await core.listPodForAllNamespaces()).items;
      write(
        "pods.yaml",
        pods.map((pod) => ({ namespace: pod.metadata?.namespace, name: pod.metadata?.name, status: pod.status })),
      );
    });
    await part("events", async () => {
      const events = (await core.listEventForAllNamespaces()).items;
      write(
        "events.yaml",
        events.map((event) => ({
          time: event.lastTimestamp ?? event.eventTime,
          type: event.type,
          reason: event.reason,
          object: `${event.involvedObject.kind}/${event.involvedObject.namespace ?? ""}/${event.involvedObject.name}`,
          message: event.message,
        })),
      );
    });
    for (const kind of fluxKinds) {
      await part(kind.plural, async () => {
        const list = (await custom.listClusterCustomObject(kind)) as {
          items?: { metadata?: { namespace?: string; name?: string }; status?: unknown }[];
        };
        write(
          `flux/${kind.plural}.yaml`,
          (list.items ?? []).map((item) => ({ namespace: item.metadata?.namespace, name: item.metadata?.name, status: item.status })),
        );
      });
    }
    // Flux's namespace holds Flux Operator and the controllers it installed, and nothing else.
    await part("Flux Operator and controller logs", async () => {
      const pods = (await core.listNamespacedPod({ namespace: options.fluxNamespace })).items;
      for (const pod of pods) {
        const name = pod.metadata?.name ?? "unknown";
        await part(`log of ${name}`, async () =>
          write(`logs/${name}.log`, await core.readNamespacedPodLog({ name, namespace: options.fluxNamespace })),
        );
      }
    });
  } else {
    notes.push(`cluster objects and logs: no kubeconfig at ${kubeconfig} (kind never created the cluster)`);
  }

  await part("kind export logs", async () => {
    const exported = await machine.run("kind", ["export", "logs", path.join(dir, "kind-logs"), "--name", run.clusterName]);
    if (exported.exitCode !== 0) throw new Error(whyFailed(exported));
  });

  await part("docker logs of the local registry", async () => {
    const registry = `${run.clusterName}-registry`;
    const logs = await machine.run("docker", ["logs", registry]);
    if (logs.exitCode !== 0) throw new Error(whyFailed(logs));
    write("logs/registry.log", logs.stdout + (logs.stderr ?? ""));
  });

  if (options.previewDiff && options.stack) {
    await part("preview diff", async () => {
      const preview = await options.stack!.preview({ diff: true });
      write("preview-diff.txt", preview.stdout);
    });
  }

  if (notes.length > 0) write("not-saved.txt", `${notes.join("\n")}\n`);
  const files = listFiles(dir);
  log(`diagnostics saved in ${dir}: ${files.length} files${notes.length > 0 ? ` (not saved: ${notes.length}, see not-saved.txt)` : ""}`);
  return files;
}

function listFiles(dir: string, prefix = ""): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) =>
      entry.isDirectory() ? listFiles(path.join(dir, entry.name), `${prefix}${entry.name}/`) : [`${prefix}${entry.name}`],
    );
}
