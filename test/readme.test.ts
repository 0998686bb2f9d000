// The README's settings table is the user's reference: it must list every setting the
// program accepts, with the default the program really uses.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { RE2JS } from "re2js";
import { isMapping, parseSettings, projectRoot, settingsSchema, settingsWithStackFiles } from "../infra/config";
import { loadStackConfig } from "../infra/offline/stackConfig";
import { minimumPulumi } from "../infra/preflight";

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

describe("README walkthrough of image write-back", () => {
  const settingsOf = (stack: string) => settingsWithStackFiles(loadStackConfig(stack));
  const accepts = (stack: string, tag: string) => RE2JS.compile(settingsOf(stack).imagePolicy.filterTags.pattern).matcher(tag).matches();
  // The tags the talk's 2020 workflow pushed (ricoberger/gitops-using-flux .github/workflows/docker.yml).
  const talkTags = ["84e319d", "master-84e319d", "latest", "1.0.0"];

  it("is right that dev finds no candidate among the talk's tags and prod finds 1.0.0", () => {
    assert.deepEqual(talkTags.filter((tag) => accepts("dev", tag)), []);
    assert.deepEqual(talkTags.filter((tag) => accepts("prod", tag)), ["1.0.0"]);
  });

  it("pushes tags dev's policy accepts", () => {
    const tags = [...readme.matchAll(/\bmaster-84e319d-[0-9]+\b/g)].map((match) => match[0]);
    assert.ok(tags.length >= 2, tags.join(", "));
    for (const tag of tags) assert.ok(accepts("dev", tag), tag);
    // The newer build is tagged with the time of the push.
    assert.match(readme, /^tag=master-84e319d-\$\(date \+%s\)$/m);
  });

  it("shows the policy names the stack files' markers use", () => {
    for (const stack of ["dev", "prod"]) assert.match(readme, new RegExp(`^server-${stack} `, "m"));
    assert.match(readme, /# \{"\$imagepolicy": "flux-system:server-dev"\}/);
  });

  it("names the Pulumi CLI version below which doctor warns", () => {
    assert.match(readme, new RegExp(`v${minimumPulumi.major}\\.${minimumPulumi.minor}\\.0 \\(30 August 2026,\\s+pulumi/pulumi#23818\\)`));
  });
});
