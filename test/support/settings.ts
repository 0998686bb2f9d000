// What the settings tests share: a `qa` stack's configuration as the engine hands it over, and
// its parsed settings or its problems.
import assert from "node:assert/strict";
import { ConfigurationError, parseSettings, type RawSettings, type SecretSetting, type Settings } from "../../infra/settings/index.ts";

/** Secret settings a case sets; each is stored encrypted unless listed in `plaintext`. */
export interface Secrets {
  readonly secrets?: Partial<Record<SecretSetting, string>>;
  readonly plaintext?: readonly SecretSetting[];
}

/** The engine's view of a `qa` stack that sets `config` (and `secrets`). */
export function rawSettings(
  config: Record<string, unknown>,
  { secrets = {}, plaintext = [] }: Secrets = {},
  extra: Partial<RawSettings> = {},
): RawSettings {
  return {
    stack: "qa",
    project: "gitops",
    config: Object.fromEntries(
      [...Object.entries(config), ...Object.entries(secrets)].map(([key, value]) => [
        `gitops:${key}`,
        typeof value === "string" ? value : JSON.stringify(value),
      ]),
    ),
    secretKeys: Object.keys(secrets)
      .filter((key) => !plaintext.includes(key as SecretSetting))
      .map((key) => `gitops:${key}`),
    ...extra,
  };
}

export function settingsFor(config: Record<string, unknown>, extra: Partial<RawSettings> = {}, secrets: Secrets = {}): Settings {
  return parseSettings(rawSettings(config, secrets, extra));
}

export function rejectionOf(config: Record<string, unknown>, extra: Partial<RawSettings> = {}, secrets: Secrets = {}): ConfigurationError {
  try {
    settingsFor(config, extra, secrets);
  } catch (error) {
    assert.ok(error instanceof ConfigurationError, `expected a ConfigurationError, got ${String(error)}`);
    return error;
  }
  assert.fail("the configuration was accepted");
}

export const problemsOf = (config: Record<string, unknown>, extra: Partial<RawSettings> = {}, secrets: Secrets = {}): readonly string[] =>
  rejectionOf(config, extra, secrets).problems;
