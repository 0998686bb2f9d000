// The namespaces of each role: Flux, the demo server, Prometheus.
import type { z } from "zod";
import { described, section, text } from "./fields";

const allowed = "must be a namespace name (DNS label: a-z, 0-9, '-', at most 63)";
const namespaceName = text(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, allowed).max(63, { error: allowed });

export const namespacesSchema = described(
  section({
    flux: described(namespaceName.default("flux-system"), "namespace of the Flux controllers"),
    server: described(namespaceName.default("server"), "namespace of the demo server (Pod Security `restricted`)"),
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
