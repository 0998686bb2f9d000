// The README's settings table is the user's reference: it must list every setting the
// program accepts, with the default the program really uses.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { isMapping, parseSettings, projectRoot, settingsSchema } from "../infra/config";

const readme = fs.readFileSync(path.join(projectRoot, "README.md"), "utf8");
/** `| \`key\` | default cell | ... |` rows of the settings table. */
const rows = new Map(
  [...readme.matchAll(/^\| `([a-zA-Z.]+)` \| (.+?) \|/gm)].map((match) => [match[1]!, match[2]!.trim()] as const),
);
const stack = "docs";
const defaults = parseSettings({ stack, project: "gitops", config: {} }) as unknown as Record<string, Record<string, unknown>>;

describe("README settings", () => {
  const keys = Object.entries(settingsSchema(stack).shape).flatMap(([section, schema]) => {
    const shape = (schema as unknown as { unwrap(): { shape: object } }).unwrap().shape;
    return Object.keys(shape).map((field) => `${section}.${field}`);
  });

  it("lists every setting", () => {
    assert.ok(keys.length >= 10);
    assert.deepEqual(keys.filter((key) => !rows.has(key)), []);
  });

  it("lists no setting the program does not have", () => {
    const settingRows = [...rows.keys()].filter((key) => key.includes("."));
    assert.deepEqual(settingRows.filter((key) => !keys.includes(key)), []);
  });

  it("shows each plain default as the program sets it", () => {
    let compared = 0;
    for (const key of keys) {
      const cell = rows.get(key)!;
      const [section, field] = key.split(".") as [string, string];
      const actual = defaults[section]![field];
      const plain = /^`([^`…]+)`$/.exec(cell)?.[1];
      if (plain === undefined || isMapping(actual)) continue;
      compared++;
      const shown = plain.replace("<env>", stack);
      assert.equal(shown, Array.isArray(actual) ? JSON.stringify(actual) : String(actual), key);
    }
    assert.ok(compared >= 9, `only ${compared} defaults compared`);
  });
});
