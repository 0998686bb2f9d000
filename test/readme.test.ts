// The settings table of docs/settings.md and Pulumi.yaml are the user's reference: they must list
// every setting the program accepts, with the default it really uses and the description the
// schema gives it (written once, with `described`, in infra/settings/). And what the walkthrough
// and troubleshooting pages say of tags and versions holds.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { RE2JS } from "re2js";
import type { z } from "zod";
import { isMapping, projectRoot, secretSettings, settingsSchema, settingsWithStackFiles } from "../infra/settings/index.ts";
import { descriptionOf } from "../infra/settings/fields.ts";
import { loadStackConfig } from "../tools/offline/stackConfig.ts";
import { minimumPulumi } from "../tools/preflight.ts";
import { readYamlFile } from "./helpers.ts";

const doc = (page: string) => fs.readFileSync(path.join(projectRoot, "docs", page), "utf8");
const settingsPage = doc("settings.md");
const walkthrough = doc("walkthrough.md");

interface Row {
  readonly key: string;
  readonly defaultCell: string;
  readonly description: string;
}

/** The rows of the settings table (`| key | default | what it does |`), with `\|` read as `|`. */
function settingsTable(markdown: string): Row[] {
  const lines = markdown.split("\n");
  const header = lines.indexOf("| key | default | what it does |");
  assert.ok(header >= 0, "docs/settings.md has no settings table");
  const body = lines.slice(header + 2);
  const end = body.findIndex((line) => !line.startsWith("|"));
  return body.slice(0, end === -1 ? undefined : end).map((line) => {
    const cells = line
      .split(/(?<!\\)\|/)
      .slice(1, -1)
      .map((cell) => cell.trim().replaceAll("\\|", "|"));
    const key = /^`([a-zA-Z.]+)`$/.exec(cells[0] ?? "")?.[1];
    assert.ok(key !== undefined && cells.length === 3, `not a settings row: ${line}`);
    return { key, defaultCell: cells[1]!, description: cells[2]! };
  });
}

const rows = settingsTable(settingsPage);
const rowOf = new Map(rows.map((row) => [row.key, row] as const));
const stack = "docs";
const schema = settingsSchema(stack);
/** Each section's fields: `section.field` → its schema. */
const fields = new Map(
  Object.entries(schema.shape).flatMap(([section, sectionSchema]) =>
    Object.entries(sectionSchema.unwrap().shape as Record<string, z.ZodType>).map(
      ([field, fieldSchema]) => [`${section}.${field}`, fieldSchema] as const,
    ),
  ),
);
const keys = [...fields.keys()];
const secretKeys = Object.keys(secretSettings);
/** What the schema fills in when a stack sets nothing (before parseSettings builds its unions). */
const defaults = schema.parse({}) as Record<string, Record<string, unknown>>;

describe("the settings table (docs/settings.md)", () => {
  it("lists every setting, the secret ones after the others, each once", () => {
    assert.ok(keys.length >= 10);
    assert.deepEqual(
      rows.map((row) => row.key),
      [...keys, ...secretKeys],
    );
  });

  it("describes each setting with exactly the schema's description", () => {
    for (const [key, fieldSchema] of fields) {
      const description = descriptionOf(fieldSchema);
      assert.ok(description, `${key} has no description in the schema (described(...))`);
      assert.equal(rowOf.get(key)?.description, description, key);
    }
  });

  it("describes each secret setting with exactly its description in secretSettings", () => {
    for (const [key, description] of Object.entries(secretSettings)) assert.equal(rowOf.get(key)?.description, description, key);
  });

  it("shows each default given as a value (whole or shortened with …) as the program sets it", () => {
    const inWords: string[] = [];
    for (const key of keys) {
      const [section, field] = key.split(".") as [string, string];
      const actual = defaults[section]![field];
      const cell = rowOf.get(key)!.defaultCell;
      const shortened = /^`(?<start>[^`…]+)…(?<end>[^`…]+)`/.exec(cell)?.groups;
      if (shortened && typeof actual === "string") {
        assert.ok(actual.startsWith(shortened.start!) && actual.endsWith(shortened.end!), `${key}: ${cell} is not ${actual}`);
        continue;
      }
      const plain = /^`([^`…]+)`$/.exec(cell)?.[1];
      if (plain === undefined || isMapping(actual)) {
        inWords.push(key);
        continue;
      }
      assert.equal(plain.replace("<env>", stack), Array.isArray(actual) ? JSON.stringify(actual) : String(actual), key);
    }
    // Only these are described in words, not shown as a value to compare.
    assert.deepEqual(inWords, [
      "cluster.kubeconfigPath",
      "cluster.context",
      "cluster.registry",
      "cluster.gitServer",
      "server.resources",
      "imagePolicy.filterTags",
      "imagePolicy.policy",
      "git.url",
      "git.knownHosts",
      "git.imageUpdates",
    ]);
  });

  it("shows none only for a setting without a default, and no value for one", () => {
    for (const key of keys) {
      const [section, field] = key.split(".") as [string, string];
      const cell = rowOf.get(key)!.defaultCell;
      if (defaults[section]![field] === undefined) assert.doesNotMatch(cell, /^`[^`]*`$/, key);
      else assert.doesNotMatch(cell, /^none\b/, key);
    }
  });
});

describe("Pulumi.yaml's declared settings", () => {
  const declared = (readYamlFile(path.join(projectRoot, "Pulumi.yaml")) as { config: Record<string, { description?: string }> }).config;

  it("describe each section with exactly the schema's description", () => {
    for (const [section, sectionSchema] of Object.entries(schema.shape)) {
      const description = descriptionOf(sectionSchema);
      assert.ok(description, `${section} has no description in the schema (described(...))`);
      assert.equal(declared[section]?.description, description, section);
    }
  });
});

describe("the walkthrough of image write-back (docs/walkthrough.md)", () => {
  const settingsOf = (stack: string) => settingsWithStackFiles(loadStackConfig(stack));
  const accepts = (stack: string, tag: string) => RE2JS.compile(settingsOf(stack).imagePolicy.filterTags.pattern).matcher(tag).matches();
  // The tags the talk's 2020 workflow pushed (ricoberger/gitops-using-flux .github/workflows/docker.yml).
  const talkTags = ["84e319d", "master-84e319d", "latest", "1.0.0"];

  it("is right that dev finds no candidate among the talk's tags and prod finds 1.0.0", () => {
    assert.deepEqual(
      talkTags.filter((tag) => accepts("dev", tag)),
      [],
    );
    assert.deepEqual(
      talkTags.filter((tag) => accepts("prod", tag)),
      ["1.0.0"],
    );
  });

  it("pushes tags dev's policy accepts", () => {
    const tags = [...walkthrough.matchAll(/\bmaster-84e319d-[0-9]+\b/g)].map((match) => match[0]);
    assert.ok(tags.length >= 2, tags.join(", "));
    for (const tag of tags) assert.ok(accepts("dev", tag), tag);
    // The newer build is tagged with the time of the push.
    assert.match(walkthrough, /^tag=master-84e319d-\$\(date \+%s\)$/m);
  });

  it("shows the policy names the stack files' markers use", () => {
    for (const stack of ["dev", "prod"]) assert.match(walkthrough, new RegExp(`^server-${stack} `, "m"));
    assert.match(walkthrough, /# \{"\$imagepolicy": "flux-system:server-dev"\}/);
  });

  it("names the Pulumi CLI version below which doctor warns", () => {
    assert.match(
      doc("troubleshooting.md"),
      new RegExp(`v${minimumPulumi.major}\\.${minimumPulumi.minor}\\.0 \\(30 August 2026,\\s+pulumi/pulumi#23818\\)`),
    );
  });
});
