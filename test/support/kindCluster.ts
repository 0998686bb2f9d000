// What the KindCluster tests (components/kindCluster.test.ts, components/kindClusterScripts.test.ts)
// share: the arguments the component is built with, dev's cluster of two workers.
import type { KindClusterArgs } from "../../infra/components/kindCluster.ts";

export const clusterArgs: KindClusterArgs = {
  clusterName: "gitops-dev",
  nodeImage: "kindest/node:v1.36.1@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5",
  workers: 2,
  waitTimeout: "5m",
  extraPortMappings: [{ containerPort: 30080, hostPort: 18080, listenAddress: "127.0.0.1", protocol: "TCP" }],
  workDir: "/projects/gitops",
  kubeconfigFile: ".kube/gitops-dev.yaml",
  stack: "dev",
};
