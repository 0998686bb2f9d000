// The whole GitOps loop on the stack's local Git server, for real (docs/walkthrough.md, steps 5,
// 6 and 8): a commit pushed to it is applied, its deletion pruned; the commit Flux makes for a
// released tag arrives there changing exactly the marked line of the stack file; pulled and
// rolled out with `up`, the Deployment runs the new tag.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation/index.js";
import { CheckFailed, log, minute, serverNamespace } from "./common.ts";
import { clientsFor, waitUntil } from "./liveChecks.ts";
import { commitAll, gitIn, gitRemoteOf, type Run } from "./throwawayStack.ts";

/** The ConfigMap the loop commits: in the server's namespace, which the stack owns. */
const configMap = "e2e-through-git";

async function kubeconfigOf(stack: Stack): Promise<string> {
  const kubeconfig: unknown = (await stack.outputs()).kubeconfig?.value;
  if (typeof kubeconfig !== "string" || kubeconfig === "") throw new CheckFailed("stack output kubeconfig is missing");
  return kubeconfig;
}

/** `npm run sync -- <stack>`: Flux fetches and applies now. */
async function sync(run: Run): Promise<void> {
  const { main } = await import("../../tools/sync.ts");
  let err = "";
  const code = await main([run.stackName, "--timeout", "3m"], {
    stdout: { write: (text: string) => process.stdout.write(text) },
    stderr: { write: (text: string) => ((err += text), process.stdout.write(text)) },
    env: process.env,
    root: run.projectDir,
  });
  if (code !== 0) throw new CheckFailed(`npm run sync -- ${run.stackName} failed: ${err.trim().split("\n").pop() ?? ""}`);
}

/** Writes the apps folder's kustomization with these resources, commits and pushes it to the local Git server. */
async function pushApps(run: Run, resources: readonly string[], message: string): Promise<void> {
  const apps = path.join(run.projectDir, "stacks", run.stackName, "apps");
  const kustomization = path.join(apps, "kustomization.yaml");
  const listed = resources.length === 0 ? "resources: []" : `resources:\n${resources.map((file) => `  - ${file}`).join("\n")}`;
  fs.writeFileSync(kustomization, fs.readFileSync(kustomization, "utf8").replace(/^resources:[\s\S]*$/m, `${listed}\n`));
  await commitAll(run.projectDir, message);
  await gitIn(run.projectDir, "push", "--quiet", gitRemoteOf(run), "HEAD:refs/heads/main");
}

/** Whether the loop's ConfigMap is in the cluster. */
async function configMapThere(stack: Stack, stop: AbortSignal): Promise<(wanted: boolean) => Promise<string | undefined>> {
  const { core } = await clientsFor(await kubeconfigOf(stack), stop);
  return async (wanted) => {
    const found = await core.readNamespacedConfigMap({ name: configMap, namespace: serverNamespace }).then(
      () => true,
      (error: { code?: number }) => {
        if (error.code === 404) return false;
        throw error;
      },
    );
    return found === wanted ? undefined : wanted ? "not there yet" : "still there";
  };
}

/** A ConfigMap committed and pushed to the local Git server is in the cluster after a sync. */
export async function pushedAndApplied(run: Run, stack: Stack, stop: AbortSignal): Promise<void> {
  const file = path.join(run.projectDir, "stacks", run.stackName, "apps", `${configMap}.yaml`);
  fs.writeFileSync(
    file,
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${configMap}\n  namespace: ${serverNamespace}\ndata:\n  from: git\n`,
  );
  await pushApps(run, [`${configMap}.yaml`], "e2e: a ConfigMap through Git");
  await sync(run);
  const there = await configMapThere(stack, stop);
  await waitUntil(
    `ConfigMap ${serverNamespace}/${configMap}, pushed to the local Git server, is in the cluster`,
    () => there(true),
    minute,
    stop,
    2_000,
  );
}

/** Deleted from Git, the ConfigMap is deleted from the cluster (prune). */
export async function deletedAndPruned(run: Run, stack: Stack, stop: AbortSignal): Promise<void> {
  fs.rmSync(path.join(run.projectDir, "stacks", run.stackName, "apps", `${configMap}.yaml`));
  await pushApps(run, [], "e2e: the ConfigMap deleted from Git");
  await sync(run);
  const there = await configMapThere(stack, stop);
  await waitUntil(
    `ConfigMap ${serverNamespace}/${configMap}, deleted from Git, is gone from the cluster`,
    () => there(false),
    minute,
    stop,
    2_000,
  );
}

/** Flux's commit for `tag` is on the local Git server, changing one line: the stack file's marked one. */
export async function fluxCommitArrived(run: Run, tag: string): Promise<void> {
  await gitIn(run.projectDir, "fetch", "--quiet", gitRemoteOf(run), "main");
  const subject = (await gitIn(run.projectDir, "log", "-1", "--format=%s", "FETCH_HEAD")).trim();
  if (subject !== `[${run.stackName}] Update images`)
    throw new CheckFailed(`the local Git server's newest commit is "${subject}", not Flux's`);
  const changed = (await gitIn(run.projectDir, "diff", "--numstat", "HEAD", "FETCH_HEAD")).trim();
  if (changed !== `1\t1\tPulumi.${run.stackName}.yaml`) {
    throw new CheckFailed(`Flux's commit should change one line of Pulumi.${run.stackName}.yaml, but changes:\n${changed}`);
  }
  const diff = await gitIn(run.projectDir, "diff", "HEAD", "FETCH_HEAD");
  if (!new RegExp(`^\\+\\s+image: \\S+:${tag} # \\{"\\$imagepolicy"`, "m").test(diff)) {
    throw new CheckFailed(`Flux's commit does not set the marked image line to ${tag}:\n${diff}`);
  }
  log(`ok: Flux's commit "${subject}" is on the local Git server, changing the one marked line to ${tag}`);
}

/** `git pull` of Flux's commit, fast-forward: this checkout's stack file now names the tag. */
export async function pulled(run: Run): Promise<void> {
  await gitIn(run.projectDir, "merge", "--quiet", "--ff-only", "FETCH_HEAD");
  log("ok: Flux's commit pulled into the checkout (fast-forward)");
}

/** After `up`, the server's Deployment runs the new tag. */
export async function serverRunsTag(stack: Stack, tag: string, stop: AbortSignal): Promise<void> {
  const { apps } = await clientsFor(await kubeconfigOf(stack), stop);
  const deployment = await apps.readNamespacedDeployment({ name: "server", namespace: serverNamespace });
  const image = deployment.spec?.template.spec?.containers[0]?.image ?? "";
  if (!image.endsWith(`:${tag}`)) throw new CheckFailed(`the server's Deployment runs ${image}, not the released tag ${tag}`);
  log(`ok: the server's Deployment runs ${image}`);
}
