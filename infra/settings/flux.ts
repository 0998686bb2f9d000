// Flux v2 as its maintainers install it now: Flux Operator (its Helm chart, pinned) and one
// FluxInstance per environment, whose version, log level and CRD policy come from here.
import type { z } from "zod";
import { described, exactVersionOf, oneOf, section, wholeNumber, yesNo } from "./fields.ts";
import type { ProjectFile } from "./project.ts";

export const fluxSchema = described(
  section({
    version: described(
      exactVersionOf("2.9.4", "Flux version"),
      "exact Flux version the FluxInstance installs; the operator must ship it (2.9 needs Flux Operator 0.58 or newer)",
    ),
    operatorVersion: described(
      exactVersionOf("0.58.1", "Flux Operator version"),
      "exact `flux-operator` chart version (the chart's version is the operator's)",
    ),
    logLevel: described(oneOf(["info", "debug", "error"]).default("info"), "every Flux controller's `--log-level`"),
    keepCrds: described(yesNo().default(false), "keep Flux's CRDs, and so every Flux object, if the FluxInstance is ever deleted"),
    timeoutSeconds: described(
      wholeNumber(600, 3600).default(900),
      "how long `up` waits for the operator and for Flux to be Ready (600–3600: cold image pulls on kind take minutes)",
    ),
  }).prefault({}),
  "Flux, installed by Flux Operator: version (exact, default 2.9.4), operatorVersion (exact, default 0.58.1), logLevel (info, debug, error), keepCrds, timeoutSeconds.",
);

export type FluxSettings = z.output<typeof fluxSchema>;

/** Where an environment's flux2 chart values lived before Flux Operator, relative to the project root. */
export const fluxValuesFile = (stack: string) => `stacks/${stack}/flux-values.yaml`;

/**
 * A flux2-values.yaml left from the flux2 chart is no longer read: say where its two uses moved,
 * rather than ignore what the user set there.
 */
export function leftoverValuesProblem(file: ProjectFile | undefined, stack: string): string[] {
  if (file === undefined) return [];
  return [
    `${file.path}: flux2 chart values are no longer read — Flux Operator installs Flux now: set flux.logLevel ` +
      `(was logLevel) or flux.keepCrds: true (was crds.annotations helm.sh/resource-policy: keep) in Pulumi.${stack}.yaml, ` +
      "then delete the file (docs/settings.md#flux)",
  ];
}
