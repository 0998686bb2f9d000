// The checks after the live ones: a release reaches the ImagePolicy (step 8 without the Git
// host), and destroy leaves nothing behind.
import type { Stack } from "@pulumi/pulumi/automation/index.js";
import { kindClusters, type Machine } from "../../tools/machine.ts";
import { CheckFailed, log } from "./common.ts";
import type { Run } from "./throwawayStack.ts";

/** After destroy: no kind cluster, no Docker container of it, and no resource in the stack's state. */
export async function nothingLeft(run: Run, stack: Pick<Stack, "exportStack">, on: Machine): Promise<void> {
  const clusters = await kindClusters(on);
  if (clusters === undefined) throw new CheckFailed("kind get clusters failed");
  if (clusters.includes(run.clusterName)) throw new CheckFailed(`kind cluster ${run.clusterName} still exists after destroy`);
  log(`ok: kind no longer lists cluster ${run.clusterName}`);
  const containers = await on.run("docker", [
    "ps",
    "-a",
    "--filter",
    `label=io.x-k8s.kind.cluster=${run.clusterName}`,
    "--format",
    "{{.Names}}",
  ]);
  if (containers.exitCode !== 0) throw new CheckFailed("docker ps failed");
  const left = containers.stdout.split("\n").filter((line) => line.trim() !== "");
  if (left.length > 0) throw new CheckFailed(`Docker containers of cluster ${run.clusterName} left after destroy: ${left.join(", ")}`);
  log(`ok: no Docker container of cluster ${run.clusterName} is left`);
  const registry = `${run.clusterName}-registry`;
  if ((await on.run("docker", ["container", "inspect", registry])).exitCode === 0) {
    throw new CheckFailed(`the local registry container ${registry} is left after destroy`);
  }
  log(`ok: the local registry container ${registry} is gone`);
  const gitServer = `${run.clusterName}-git`;
  if ((await on.run("docker", ["container", "inspect", gitServer])).exitCode === 0) {
    throw new CheckFailed(`the local Git server container ${gitServer} is left after destroy`);
  }
  log(`ok: the local Git server container ${gitServer} is gone`);
  const state = (await stack.exportStack()) as { deployment?: { resources?: { urn?: string }[] } };
  const resources = state.deployment?.resources ?? [];
  if (resources.length > 0)
    throw new CheckFailed(
      `the stack's state still holds ${resources.length} resources after destroy: ${resources.map((resource) => resource.urn).join(", ")}`,
    );
  log("ok: the stack's state holds no resources");
}

/**
 * The demo's release (docs/walkthrough.md, step 8): `npm run release -- <stack> --wait` pushes a
 * new master build into the stack's local registry, and follows Flux until the ImagePolicy
 * reports it and the automation has pushed its commit to the local Git server. The tag pushed.
 */
export async function releaseNewTag(run: Run): Promise<string> {
  // Loaded here, not at the top: a skipped suite must not wait for the Kubernetes client.
  const { main: release } = await import("../../tools/release.ts");
  const prefix = (line: string) => `release | ${line}`;
  const output = {
    write: (text: string) =>
      process.stdout.write(
        text
          .split(/(?<=\n)/)
          .map(prefix)
          .join(""),
      ),
  };
  let err = "";
  let pushed = "";
  const code = await release([run.stackName, "--wait", "--timeout", "5m"], {
    stdout: { write: (text: string) => ((pushed += text), output.write(text)) },
    stderr: { write: (text: string) => ((err += text), output.write(text)) },
    env: process.env,
    root: run.projectDir,
  });
  if (code !== 0) throw new CheckFailed(`npm run release -- ${run.stackName} --wait failed: ${err.trim().split("\n").pop() ?? ""}`);
  const tag = pushed.trim().split(":").pop() ?? "";
  log(`ok: the released tag ${tag} reached the ImagePolicy, and Flux pushed its commit`);
  return tag;
}
