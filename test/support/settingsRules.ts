// What the settings rule tests (settingsRules.test.ts, settingsProblems.test.ts) share: a `qa`
// stack's configuration with every gitops: value JSON-encoded and other namespaces' keys as they
// are, and its parsed settings or its problems.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigurationError, parseSettings, projectRoot, type RawSettings, type Settings } from "../../infra/settings/index.ts";

/** The engine's view of a `qa` stack: `config` under gitops:, `other` keys as they are. */
export function raw(config: Record<string, unknown>, extra: Partial<RawSettings> = {}, other: Record<string, string> = {}): RawSettings {
  return {
    stack: "qa",
    project: "gitops",
    config: { ...Object.fromEntries(Object.entries(config).map(([key, value]) => [`gitops:${key}`, JSON.stringify(value)])), ...other },
    ...extra,
  };
}

/** The problems a `qa` stack that sets `config` is refused with; fails when it is accepted. */
export function problemsOf(
  config: Record<string, unknown>,
  extra: Partial<RawSettings> = {},
  other: Record<string, string> = {},
): readonly string[] {
  try {
    parseSettings(raw(config, extra, other));
  } catch (error) {
    assert.ok(error instanceof ConfigurationError, String(error));
    return error.problems;
  }
  assert.fail("accepted");
}

/** The settings of a `qa` stack that sets `config`; throws when it is refused. */
export const settingsOf = (
  config: Record<string, unknown>,
  extra: Partial<RawSettings> = {},
  other: Record<string, string> = {},
): Settings => parseSettings(raw(config, extra, other));

/** An existing cluster's kubeconfig, with the one context team-cluster. */
export const kubeconfigFixture = fs.readFileSync(path.join(projectRoot, "test/fixtures/kubeconfig-existing.yaml"), "utf8");
