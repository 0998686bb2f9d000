// The environments of the project, loaded the way every tool needs them: the stack file read
// as the Pulumi CLI reads it, then the same settings validation the program runs.
import { ConfigurationError, settingsWithStackFiles, type Settings } from "../infra/settings";
import { listStacks, loadStackConfig, StackConfigError, StackNotFoundError, type StackConfig } from "./offline/stackConfig";

export interface Environment {
  readonly name: string;
  readonly config: StackConfig;
  readonly settings: Settings;
}

/** Why an environment cannot be used: `exitCode` 2 for an unknown name (a usage error), 1 for invalid settings. */
export class EnvironmentError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
  ) {
    super(message);
  }
}

/** The environments: one per stack file next to Pulumi.yaml. */
export const listEnvironments = (root: string): string[] => listStacks(root);

/** Loads and validates one environment; an EnvironmentError says what is wrong. */
export function loadEnvironment(name: string, root: string): Environment {
  try {
    const config = loadStackConfig(name, root);
    return { name, config, settings: settingsWithStackFiles(config, root) };
  } catch (error) {
    if (error instanceof StackNotFoundError) throw new EnvironmentError(error.message, 2);
    if (error instanceof StackConfigError || error instanceof ConfigurationError) throw new EnvironmentError(error.message, 1);
    throw error;
  }
}

/** The names among `names` that are not environments of the project. */
export function unknownEnvironments(names: readonly string[], root: string): string[] {
  const known = listEnvironments(root);
  return names.filter((name) => !known.includes(name));
}
