// Flux v2 from the community flux2 chart: the pinned chart, and its values, the program's
// defaults merged with stacks/<env>/flux-values.yaml.
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import type { z } from "zod";
import { described, pinnedChart, section, wholeNumber } from "./fields.ts";
import { show } from "./problems.ts";
import { readYaml, type ProjectFile } from "./project.ts";
import { isMapping, mergeValues, type HelmValues } from "./values.ts";

export const fluxSchema = described(
  section({
    ...pinnedChart({
      version: "2.18.3",
      repository: "https://fluxcd-community.github.io/helm-charts",
      versionDoc: "exact `flux2` chart version (Flux 2.8.5); ranges are rejected",
      repositoryDoc: "Helm repository of the `flux2` chart",
    }),
    timeoutSeconds: described(
      wholeNumber(600, 3600).default(900),
      "how long Helm waits for Flux (600–3600: cold image pulls on kind take minutes)",
    ),
  }).prefault({}),
  "The flux2 Helm chart: chartVersion (exact, default 2.18.3), repository, timeoutSeconds. Chart values come from stacks/<stack>/flux-values.yaml.",
);

export interface FluxSettings extends z.output<typeof fluxSchema> {
  /** The chart values: the program's defaults with stacks/<env>/flux-values.yaml merged over them. */
  readonly values: HelmValues;
}

/** Where an environment's Flux values live, relative to the project root. */
export const fluxValuesFile = (stack: string) => `stacks/${stack}/flux-values.yaml`;

/** Program defaults for the flux2 chart (charts/flux2/values.yaml of chart 2.18.3 names every key). */
export const fluxDefaultValues: HelmValues = {
  // The demo requested 50m/64Mi for its Flux daemon; each Flux v2 controller gets the same.
  ...Object.fromEntries(
    [
      "sourceController",
      "kustomizeController",
      "helmController",
      "notificationController",
      "imageReflectionController",
      "imageAutomationController",
    ].map((controller) => [controller, { create: true, resources: { requests: { cpu: "50m", memory: "64Mi" } } }]),
  ),
  // The PodMonitor CRD arrives with Prometheus, which Flux installs later: enabling this
  // would make the first install fail. The program creates the Flux PodMonitor instead.
  prometheus: { podMonitor: { create: false } },
};

/** The flux2 values of an environment: its file (when there is one) merged over the defaults. */
export function fluxValues(file: ProjectFile | undefined, problems: string[]): HelmValues {
  return mergeValues(fluxDefaultValues, file ? readValuesFile(file, problems) : {});
}

/** The pinned flux2 chart's own default values (charts/flux2-values.yaml names the source). */
export function chartDefaultValues(): HelmValues {
  return YAML.parse(fs.readFileSync(path.join(import.meta.dirname, "charts", "flux2-values.yaml"), "utf8")) as HelmValues;
}

const typeName = (value: unknown) =>
  Array.isArray(value) ? "a list" : isMapping(value) ? "a mapping" : typeof value === "boolean" ? "true or false" : `a ${typeof value}`;

/**
 * Keys the chart does not have and values of another type than the chart's default, as
 * `path: what is wrong`. A mapping that is empty or null by default, or whose default values
 * are all strings (annotations, labels, resource quantities), takes any key.
 */
export function valueProblems(values: HelmValues, defaults: HelmValues, prefix = ""): string[] {
  const defaultValues = Object.values(defaults);
  if (defaultValues.length === 0 || defaultValues.every((value) => typeof value === "string")) return [];
  return Object.entries(values).flatMap(([key, value]) => {
    const where = prefix ? `${prefix}.${key}` : key;
    if (!(key in defaults)) return [`${where}: unknown value: the flux2 chart has no such key`];
    const fallback = defaults[key];
    if (fallback === null || fallback === undefined || value === null) return [];
    if (isMapping(fallback) && isMapping(value)) return valueProblems(value, fallback, where);
    // Helm renders a number where the chart has a string (a tag such as 1.2): that one passes.
    const sameType = Array.isArray(fallback)
      ? Array.isArray(value)
      : isMapping(fallback)
        ? isMapping(value)
        : typeof fallback === typeof value;
    if (sameType || (typeof fallback === "string" && typeof value === "number")) return [];
    return [`${where}: ${show(value)} — must be ${typeName(fallback)}, as the chart's default ${show(fallback)}`];
  });
}

function readValuesFile(file: ProjectFile, problems: string[]): HelmValues {
  const read = readYaml(file);
  if ("problems" in read) {
    problems.push(...read.problems);
    return {};
  }
  const values = read.value ?? {};
  if (!isMapping(values)) {
    problems.push(`${file.path}: ${show(values)} — must be a mapping of flux2 chart values`);
    return {};
  }
  problems.push(...valueProblems(values, chartDefaultValues()).map((problem) => `${file.path}: ${problem}`));
  const podMonitor = (values.prometheus as HelmValues | undefined)?.podMonitor as HelmValues | undefined;
  if (podMonitor?.create === true) {
    problems.push(
      `${file.path}: prometheus.podMonitor.create: true — must stay false: the PodMonitor CRD only exists ` +
        "after Flux has installed Prometheus, so the first install would fail (the program creates the Flux PodMonitor itself)",
    );
  }
  return values;
}
