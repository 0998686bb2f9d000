// Pulumi.yaml as the Pulumi CLI reads it, and the settings it declares.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
// ajv is CommonJS: from an ES module, its class is the default export's `default`.
import ajv2020 from "ajv/dist/2020.js";
import * as YAML from "yaml";
import { parseSettings, projectRoot, settingsSchema } from "../infra/settings/index.ts";
import { loadStackConfig } from "../tools/offline/stackConfig.ts";
import { fixtures, projectCopy, readYamlFile } from "./helpers.ts";

const Ajv2020 = ajv2020.default;

const project = readYamlFile(path.join(projectRoot, "Pulumi.yaml")) as Record<string, unknown> & {
  config: Record<string, Record<string, unknown>>;
  backend: { url: string };
  main: string;
};

describe("Pulumi.yaml", () => {
  it("validates against the Pulumi CLI's project schema", () => {
    const schema = JSON.parse(fs.readFileSync(path.join(fixtures, "pulumi/project.schema.json"), "utf8")) as object;
    const validate = new Ajv2020({ strict: false, allErrors: true }).compile(schema);
    assert.equal(validate(project), true, JSON.stringify(validate.errors, null, 2));
  });

  // Their descriptions are the schema's: readme.test.ts checks them with the README's.
  it("declares exactly the settings the program reads", () => {
    const declared = Object.keys(project.config)
      .filter((key) => !key.includes(":"))
      .sort();
    assert.deepEqual(declared, Object.keys(settingsSchema("dev").shape).sort());
  });

  it("requires no setting of a stack: the CLI requires a declared key without default or value", () => {
    const required = Object.entries(project.config).filter(
      ([key, declaration]) => !key.includes(":") && declaration.default === undefined && declaration.value === undefined,
    );
    assert.deepEqual(
      required.map(([key]) => key),
      [],
    );
  });

  it("lets a new environment start from an empty stack file", () => {
    const copy = projectCopy({ "Pulumi.empty.yaml": "config: {}\n" });
    try {
      const { config, project: name } = loadStackConfig("empty", copy.root);
      const settings = parseSettings({ stack: "empty", project: name, config });
      assert.deepEqual(settings.cluster.kind === "kind" && [settings.cluster.name, settings.git.mode], ["gitops-empty", "off"]);
    } finally {
      copy.remove();
    }
  });

  it("the offline loader refuses a stack the CLI would refuse, with the CLI's words", () => {
    const copy = projectCopy();
    try {
      const pulumiYaml = path.join(copy.root, "Pulumi.yaml");
      const edited = readYamlFile(pulumiYaml) as { config: Record<string, Record<string, unknown>> };
      delete edited.config.prometheus!.default;
      fs.writeFileSync(pulumiYaml, YAML.stringify(edited));
      assert.throws(() => loadStackConfig("prod", copy.root), {
        message: "Stack 'prod' is missing configuration value 'prometheus' (Pulumi.yaml declares it without a default)",
      });
      assert.doesNotThrow(() => loadStackConfig("dev", copy.root), "dev sets prometheus itself");
    } finally {
      copy.remove();
    }
  });

  it("runs the program in infra/ with Node.js", () => {
    assert.deepEqual((project.runtime as { name: string }).name, "nodejs");
    assert.equal(project.main, "infra/");
    assert.ok(fs.existsSync(path.join(projectRoot, project.main, "index.ts")));
  });

  it("keeps state in a folder of the project that ships empty: what Pulumi writes there is git-ignored", () => {
    const match = /^file:\/\/\.\/(?<folder>[^/]+)$/.exec(project.backend.url);
    assert.ok(match, project.backend.url);
    const folder = match.groups!.folder!;
    const ignored = (file: string) => spawnSync("git", ["check-ignore", "--quiet", "--no-index", file], { cwd: projectRoot }).status === 0;
    assert.equal(ignored(`${folder}/.gitkeep`), false, "the folder must be in every clone: Pulumi does not create it");
    assert.ok(fs.existsSync(path.join(projectRoot, folder, ".gitkeep")));
    assert.equal(ignored(`${folder}/.pulumi/stacks/gitops/dev.json`), true, "state must never be committed");
  });
});

describe("the repository as a project", () => {
  const packageJson = JSON.parse(fs.readFileSync(path.join(projectRoot, "package.json"), "utf8")) as { name: string; license: string };

  it("ships the license package.json names (Apache-2.0), whole", () => {
    assert.equal(packageJson.license, "Apache-2.0");
    const license = fs.readFileSync(path.join(projectRoot, "LICENSE"), "utf8");
    assert.match(license, /^\s*Apache License\n\s*Version 2\.0, January 2004\n/);
    assert.match(license, /END OF TERMS AND CONDITIONS\s*$/);
  });

  // The components' type tokens (gitops:infra:*) and the namespaces' part-of label: test/program and test/components.
  it("reads as one product: the package and the Pulumi project are both gitops", () => {
    assert.equal(packageJson.name, "gitops");
    assert.equal(project.name, "gitops");
  });
});
