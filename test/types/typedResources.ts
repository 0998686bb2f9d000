// Compile-time checks (run by `tsc --noEmit` in npm test): a misspelt field in a typed custom
// resource must not compile. If one did, its @ts-expect-error would be unused, and tsc fails.
import * as pulumi from "@pulumi/pulumi";
import { HelmRelease, ImagePolicy, ServiceMonitor } from "../../infra/components/customResources.ts";

export function misspeltFieldsDoNotCompile(): void {
  const metadata = { name: "x", namespace: "y" };
  new HelmRelease("typo", {
    metadata,
    spec: {
      chart: { spec: { chart: "c", sourceRef: { kind: "HelmRepository", name: "r" } } },
      interval: "10m",
      // @ts-expect-error -- `valuez` is not a HelmRelease field (values is).
      valuez: {},
    },
  });
  new ImagePolicy("typo", {
    metadata,
    spec: {
      imageRepositoryRef: { name: "server" },
      // @ts-expect-error -- the order is `asc` or `desc`.
      policy: { numerical: { order: "ascending" } },
    },
  });
  new ServiceMonitor("outputs-are-fine", {
    metadata,
    spec: {
      // A Pulumi output is accepted wherever the schema has a value.
      namespaceSelector: { matchNames: [pulumi.output("server")] },
      // @ts-expect-error -- endpoints take `port`, not `portName`.
      endpoints: [{ portName: "http" }],
    },
  });
}
