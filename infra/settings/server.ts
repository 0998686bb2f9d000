// The demo server: its image, replicas, log level and resources.
import { z } from "zod";
import { described, oneOf, section, text, wholeNumber } from "./fields.ts";

// An image reference with a tag (and optionally a digest): registry/path:tag[@sha256:...].
const taggedImage =
  /^(?<repository>(?:[a-zA-Z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*):(?<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})(?:@sha256:[a-f0-9]{64})?$/;

/** The repository part of an image reference (what Flux scans for new tags). */
export function imageRepository(image: string): string {
  const repository = taggedImage.exec(image)?.groups?.repository;
  if (repository === undefined) throw new Error(`not a tagged image reference: ${image}`);
  return repository;
}

/** An image reference's registry (when it names one), path in that registry and tag. */
export function imageParts(image: string): { readonly registry?: string; readonly path: string; readonly tag: string } {
  const groups = taggedImage.exec(image)?.groups;
  if (groups?.repository === undefined || groups.tag === undefined) throw new Error(`not a tagged image reference: ${image}`);
  const [first, ...rest] = groups.repository.split("/");
  // Docker's rule: the first component names a registry when it has a '.' or a ':' or is localhost.
  const isRegistry = rest.length > 0 && (/[.:]/.test(first!) || first === "localhost");
  return isRegistry ? { registry: first, path: rest.join("/"), tag: groups.tag } : { path: groups.repository, tag: groups.tag };
}

/**
 * The talk's server image: the one build the demo's Flux last deployed to dev. A local registry
 * is filled with it (under the stack's tag), and `npm run release` pushes it under new tags.
 */
export const demoImage = "ricoberger/gitops-using-flux:master-84e319d";

// Kubernetes resource quantities, as the API server parses them for CPU and memory.
const cpuQuantity = /^(?<value>[0-9]+(?:\.[0-9]+)?)(?<unit>m?)$/;
const memoryQuantity = /^(?<value>[0-9]+(?:\.[0-9]+)?)(?<unit>Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;
const memoryUnits: Record<string, number> = {
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
/** CPU in millicores, memory in bytes: comparable numbers (undefined for a malformed quantity). */
function quantityValue(quantity: string, pattern: RegExp): number | undefined {
  const groups = pattern.exec(quantity)?.groups;
  if (!groups) return undefined;
  const value = Number(groups.value);
  return pattern === cpuQuantity ? value * (groups.unit === "m" ? 1 : 1000) : value * memoryUnits[groups.unit ?? ""]!;
}
// YAML reads `cpu: 1` as a number; Kubernetes accepts it, so do we.
const quantity = (pattern: RegExp, allowed: string) =>
  z.preprocess((value) => (typeof value === "number" ? String(value) : value), text(pattern, allowed));
const cpu = quantity(cpuQuantity, "must be a CPU quantity such as 50m or 0.5");
const memory = quantity(memoryQuantity, "must be a memory quantity such as 64Mi or 1Gi");
const computeResources = (defaults: { cpu: string; memory: string }) =>
  section({ cpu: cpu.default(defaults.cpu), memory: memory.default(defaults.memory) }).prefault({});

export const serverSchema = described(
  section({
    image: described(
      text(taggedImage, "must be an image reference with a tag, like ricoberger/gitops-using-flux:1.0.0")
        // The server pulls IfNotPresent: a node that has `latest` keeps it. And no ImagePolicy
        // can pick it: it names no version or build to order.
        .refine((image) => taggedImage.exec(image)?.groups?.tag !== "latest", {
          error:
            "must name a version or a build, not latest: a node that has latest never pulls it again, and no image policy can pick it — e.g. ricoberger/gitops-using-flux:1.0.0",
        })
        .default("ricoberger/gitops-using-flux:1.0.0"),
      "the server image, with a tag (and optionally `@sha256:` digest); not `latest`",
    ),
    replicas: described(wholeNumber(1, 50).default(1), "server pods (1–50)"),
    logLevel: described(
      oneOf(["trace", "debug", "info", "warn", "error", "fatal", "panic"]).default("info"),
      "the server's `--log.level`: `trace`, `debug`, `info`, `warn`, `error`, `fatal`, `panic`",
    ),
    resources: described(
      section({
        requests: computeResources({ cpu: "50m", memory: "64Mi" }),
        limits: computeResources({ cpu: "100m", memory: "128Mi" }),
      })
        .prefault({})
        .superRefine((resources, ctx) => {
          for (const [resource, pattern] of [
            ["cpu", cpuQuantity],
            ["memory", memoryQuantity],
          ] as const) {
            // Runs even when a quantity is malformed (already reported): compare only well-formed ones.
            const request = quantityValue(resources.requests[resource], pattern);
            const limit = quantityValue(resources.limits[resource], pattern);
            if (request !== undefined && limit !== undefined && request > limit) {
              ctx.addIssue({
                code: "custom",
                path: ["requests", resource],
                input: resources.requests[resource],
                message: `must not exceed limits.${resource} (${resources.limits[resource]})`,
              });
            }
          }
        }),
      "`requests` and `limits`, each `cpu` (`50m`, `0.5`) and `memory` (`64Mi`, `1Gi`); requests may not exceed limits",
    ),
  }).prefault({}),
  "The demo server: image (with a tag), replicas, logLevel (the server's --log.level), resources.requests / resources.limits (cpu, memory).",
);

export type ServerSettings = z.output<typeof serverSchema>;

/** More than a laptop's kind node holds (a whole node's worth of a typical 8-core, 16 GiB machine). */
const laptopNode = { cpu: 8000, memory: 16 * 2 ** 30 };

/** Requests no laptop's kind node can hold: the pods would stay Pending (a warning: a team's cluster may be bigger). */
export function resourceWarnings(resources: ServerSettings["resources"], replicas: number): string[] {
  const cpu = quantityValue(resources.requests.cpu, cpuQuantity) ?? 0;
  const memory = quantityValue(resources.requests.memory, memoryQuantity) ?? 0;
  const totals = [
    cpu * replicas > laptopNode.cpu && `${replicas} × ${resources.requests.cpu} CPU`,
    memory * replicas > laptopNode.memory && `${replicas} × ${resources.requests.memory} memory`,
  ].filter(Boolean);
  return totals.length === 0
    ? []
    : [
        `server.resources.requests: ${totals.join(" and ")} is more than a laptop's kind node holds (8 CPU, 16Gi): the pods would stay Pending there`,
      ];
}
export type ComputeResources = ServerSettings["resources"];
