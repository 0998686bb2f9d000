// The namespaces of each role: Flux, the demo server, Prometheus.
import type { z } from "zod";
import { described, section, text } from "./fields.ts";

const allowed = "must be a namespace name (DNS label: a-z, 0-9, '-', at most 63)";
/** Namespaces every cluster already has: the stack would take them over, and destroy would delete them. */
export const clusterNamespaces = ["default", "kube-system", "kube-public", "kube-node-lease"];
const namespaceName = text(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, allowed)
  .refine((name) => name.length <= 63, { error: allowed })
  .refine((name) => !clusterNamespaces.includes(name), {
    error: `must be a namespace of its own: ${clusterNamespaces.join(", ")} exist in every cluster (the stack would own, and on destroy delete, it)`,
  });

export const namespacesSchema = described(
  section({
    flux: described(namespaceName.default("flux-system"), "namespace of the Flux controllers"),
    server: described(
      namespaceName.default("server"),
      "namespace of the demo server (Pod Security `restricted`); no role may use `default` or a `kube-` namespace",
    ),
    monitoring: described(namespaceName.default("monitoring"), "namespace of Prometheus"),
  })
    .superRefine((names, ctx) => {
      const roles = Object.keys(names) as (keyof typeof names)[];
      roles.forEach((role, index) => {
        const earlier = roles.slice(0, index).find((other) => names[other] === names[role]);
        if (earlier) {
          ctx.addIssue({
            code: "custom",
            path: [role],
            input: names[role],
            message: `must differ from namespaces.${earlier}: each role gets its own namespace`,
          });
        }
      });
    })
    .prefault({}),
  "Namespace names: flux (default flux-system), server (default server), monitoring (default monitoring).",
);

export type NamespaceSettings = z.output<typeof namespacesSchema>;
export type NamespaceRole = keyof NamespaceSettings;
