// What the KindCluster tests (components/kindCluster.test.ts, components/kindClusterScripts.test.ts)
// share: the arguments the component is built with, dev's cluster of two workers, and the
// component built once per suite.
import { before } from "node:test";
import { KindCluster, type KindClusterArgs } from "../../infra/components/kindCluster.ts";
import { build, type Built } from "./components.ts";

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

/**
 * Builds the component with `clusterArgs` before the calling suite's tests, and gives what they
 * look at: the registrations, the kind Command, and its scripts exactly as Pulumi will run them.
 */
export function builtKindCluster() {
  let built: Built<KindCluster> | undefined;
  before(async () => {
    built = await build(() => new KindCluster("cluster", clusterArgs));
  });
  const component = () => built!;
  const kindCommand = () => component().only("command:local:Command", "cluster-kind");
  return {
    built: component,
    kindCommand,
    script: (name: "create" | "update" | "delete") => kindCommand().inputs[name] as string,
    interpreter: () => kindCommand().inputs.interpreter as string[],
  };
}
