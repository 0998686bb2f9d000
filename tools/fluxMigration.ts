// A stack made before Flux Operator holds the flux2 chart's Helm release, which the program no
// longer has: an `up` would delete it, and Helm's uninstall would remove the controllers while
// the operator takes them over (and, in an environment whose CRDs were not kept, Flux's CRDs and
// with them every Flux object). So before `up`, a state that records that release gets it marked
// retainOnDelete (`pulumi stack export`, `pulumi stack import`): Pulumi then forgets the release
// without uninstalling it, Flux keeps running, and the operator takes the controllers over in
// place (Flux Operator's migration guide, docs/guides/operator/operator-migration.md). Pulumi
// reads retainOnDelete of a resource the program dropped from the state it saved last.

/** The flux2 chart's release as the program registered it before Flux Operator. */
const releaseType = "kubernetes:helm.sh/v3:Release";
const releaseName = "flux-release";

interface ExportedResource {
  urn?: unknown;
  type?: unknown;
  delete?: unknown;
  retainOnDelete?: unknown;
  inputs?: { chart?: unknown };
}

interface ExportedDeployment {
  resources?: unknown;
  pending_operations?: unknown;
}

function deploymentOf(exported: string): ExportedDeployment | undefined {
  try {
    return (JSON.parse(exported) as { deployment?: ExportedDeployment }).deployment;
  } catch {
    return undefined;
  }
}

function resourcesOf(exported: string): ExportedResource[] | undefined {
  const resources = deploymentOf(exported)?.resources;
  return Array.isArray(resources) ? (resources as ExportedResource[]) : undefined;
}

/** How many operations an interrupted update left pending in the state: `pulumi stack import` drops them. */
export function pendingOperations(exported: string): number {
  const pending = deploymentOf(exported)?.pending_operations;
  return Array.isArray(pending) ? pending.length : 0;
}

const isFlux2Release = (resource: ExportedResource) =>
  resource.type === releaseType &&
  typeof resource.urn === "string" &&
  resource.urn.endsWith(`::${releaseName}`) &&
  resource.inputs?.chart === "flux2" &&
  resource.delete !== true;

/** Whether an exported deployment (`pulumi stack export`) holds the flux2 release, and whether it is retained already. */
export function flux2Release(exported: string): "none" | "retained" | "to retain" {
  const release = resourcesOf(exported)?.find(isFlux2Release);
  if (release === undefined) return "none";
  return release.retainOnDelete === true ? "retained" : "to retain";
}

/** The exported deployment with the flux2 release marked retainOnDelete; everything else as it was. */
export function retainingFlux2Release(exported: string): string {
  const document = JSON.parse(exported) as { deployment: { resources: ExportedResource[] } };
  for (const resource of document.deployment.resources) if (isFlux2Release(resource)) resource.retainOnDelete = true;
  return JSON.stringify(document, null, 4);
}

/** What `up` says while it moves an environment's Flux to the operator. */
export function movingMessage(environment: string): string {
  return (
    `gitops: ${environment}: moving Flux from the flux2 chart to Flux Operator: Pulumi forgets the flux2 Helm release ` +
    "without uninstalling it, so Flux keeps running while the operator takes its controllers over (Helm's record of the " +
    "release stays in Flux's namespace: never helm uninstall flux; docs/walkthrough.md#moving-from-the-flux2-chart)"
  );
}

/** What `preview` says instead: it changes no state, so its plan shows the release deleted. */
export function previewMessage(environment: string): string {
  return (
    `gitops: ${environment}: this stack still holds the flux2 chart's release: the preview shows it deleted, ` +
    "but npm run up keeps it installed (it marks it retained first), so Flux keeps running while Flux Operator takes over"
  );
}

export interface StackState {
  /** `pulumi stack export`: the deployment, or undefined when it cannot be read. */
  readonly exportState: () => Promise<string | undefined>;
  /** `pulumi stack import` of a deployment; its exit code. */
  readonly importState: (deployment: string) => Promise<number>;
}

/**
 * Before `up` (and `preview`, which only says so): marks the flux2 release retained when the
 * stack holds it. Gives an exit code: 0 when there is nothing to do or it is done.
 */
export async function retainFlux2Release(
  environment: string,
  command: "up" | "preview",
  state: StackState,
  say: (line: string) => void,
): Promise<number> {
  const exported = await state.exportState();
  if (exported === undefined || flux2Release(exported) !== "to retain") return 0;
  if (command === "preview") {
    say(previewMessage(environment));
    return 0;
  }
  const pending = pendingOperations(exported);
  if (pending > 0) {
    say(
      `gitops: ${environment}: an interrupted update left ${pending} operation${pending === 1 ? "" : "s"} pending in the state, which ` +
        `moving Flux to Flux Operator would drop: first npm run pulumi -- refresh --stack ${environment} (it asks what to do with them), ` +
        `then npm run up -- ${environment} again`,
    );
    return 1;
  }
  say(movingMessage(environment));
  return state.importState(retainingFlux2Release(exported));
}
