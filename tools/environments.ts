// The environments of the project, loaded the way every tool needs them: the stack file read
// as the Pulumi CLI reads it, then the same settings validation the program runs.
import { ConfigurationError, portsClash, publishedPorts, settingsWithStackFiles, type Settings } from "../infra/settings/index.ts";
import { ToolError } from "./cli.ts";
import {
  listStacks,
  loadStackConfig,
  noSuchEnvironment,
  StackConfigError,
  StackNotFoundError,
  type StackConfig,
} from "./offline/stackConfig.ts";

export interface Environment {
  readonly name: string;
  readonly config: StackConfig;
  readonly settings: Settings;
  /** What works but probably not as meant, from its stack file and its settings. */
  readonly warnings: readonly string[];
}

/** Why an environment cannot be used: `exitCode` 2 for an unknown name (a usage error), 1 for invalid settings. */
export class EnvironmentError extends ToolError {
  declare readonly exitCode: 1 | 2;

  constructor(message: string, exitCode: 1 | 2) {
    super(message, exitCode);
  }
}

/** The environments: one per stack file next to Pulumi.yaml. */
export const listEnvironments = (root: string): string[] => listStacks(root);

/** Loads and validates one environment; an EnvironmentError says what is wrong. */
export function loadEnvironment(name: string, root: string): Environment {
  try {
    const config = loadStackConfig(name, root);
    const settings = settingsWithStackFiles(config, root);
    return { name, config, settings, warnings: [...config.warnings, ...settings.warnings] };
  } catch (error) {
    if (error instanceof StackNotFoundError) throw new EnvironmentError(error.message, 2);
    if (error instanceof StackConfigError || error instanceof ConfigurationError) throw new EnvironmentError(error.message, 1);
    throw error;
  }
}

/** The environments whose settings are valid; the others are skipped (each tool reports them where it loads one). */
export function validEnvironments(root: string): Environment[] {
  return listEnvironments(root).flatMap((name) => {
    try {
      return [loadEnvironment(name, root)];
    } catch (error) {
      if (error instanceof EnvironmentError) return [];
      throw error;
    }
  });
}

/** Why each of `names` that is not an environment of the project is none: not a stack name, or no stack file. */
export function unknownEnvironments(names: readonly string[], root: string): string[] {
  return names.flatMap((name) => noSuchEnvironment(name, root) ?? []);
}

/** Something two environments would fight over. */
export interface Clash {
  readonly between: readonly [string, string];
  /** A cluster (name, kubeconfig, context) is theirs at any time; a host port only while both run. */
  readonly over: "cluster" | "port";
  readonly message: string;
}

/**
 * What two environments would fight over: a kind cluster name (and so its kubeconfig file), an
 * existing cluster's kubeconfig context (both would install Flux there), a host port.
 */
export function clashes(environments: readonly Environment[]): Clash[] {
  const found: Clash[] = [];
  environments.forEach((environment, index) => {
    for (const other of environments.slice(0, index)) {
      const [a, b] = [other.settings.cluster, environment.settings.cluster];
      const between = [other.name, environment.name] as const;
      const both = `${other.name} and ${environment.name}`;
      if (a.kind === "kind" && b.kind === "kind") {
        if (a.name === b.name) {
          found.push({
            between,
            over: "cluster",
            message: `${both} both use the kind cluster ${a.name} (and its kubeconfig ${a.kubeconfigFile}): give one another cluster.name`,
          });
        }
        for (const mapping of b.extraPortMappings) {
          if (a.extraPortMappings.some((candidate) => portsClash(candidate, mapping))) {
            found.push({
              between,
              over: "port",
              message: `${both} both map ${mapping.protocol} port ${mapping.hostPort} on ${mapping.listenAddress}: change one's cluster.extraPortMappings`,
            });
          }
        }
        // A local registry or Git server publishes TCP on 127.0.0.1, like a port mapping.
        const hostPorts = (cluster: typeof a) => [
          ...cluster.extraPortMappings.map((mapping) => ({ ...mapping, setting: "cluster.extraPortMappings" })),
          ...publishedPorts(cluster).map((port) => ({ ...port, protocol: "TCP" as const, listenAddress: "127.0.0.1" })),
        ];
        for (const port of hostPorts(b)) {
          const taken = hostPorts(a).find((candidate) => portsClash(candidate, port));
          if (taken && (taken.setting !== "cluster.extraPortMappings" || port.setting !== "cluster.extraPortMappings")) {
            found.push({
              between,
              over: "port",
              message: `${both} both take TCP port ${port.hostPort} on 127.0.0.1 (${other.name}: ${taken.setting}, ${environment.name}: ${port.setting}): change one`,
            });
          }
        }
      }
      if (
        a.kind === "existing" &&
        b.kind === "existing" &&
        a.kubeconfigPath !== undefined &&
        a.kubeconfigPath === b.kubeconfigPath &&
        a.context === b.context
      ) {
        found.push({
          between,
          over: "cluster",
          message: `${both} both deploy into context ${a.context ?? "(current)"} of ${a.kubeconfigPath}: each would install Flux there`,
        });
      }
    }
  });
  return found;
}
