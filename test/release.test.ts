// npm run release -- <env>: which tag comes next under each environment's ImagePolicy, what Flux
// will do with it, and its clear errors (--wait: releaseWait.test.ts). Docker is a fake machine
// at the process boundary; the registry's tag list a fake fetch.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { settingsWithStackFiles } from "../infra/settings/index.ts";
import { considerTag, newestTag, nextTag } from "../infra/settings/index.ts";
import { loadStackConfig } from "../tools/offline/stackConfig.ts";
import { fakeDocker, fakeRegistry, pushTime, registryStack, release } from "./support/release.ts";

const usage = "usage: npm run release -- <env> [--tag TAG] [--wait] [--timeout DURATION]   (environments: dev, prod)";
const shippedProd = fs.readFileSync(path.join(import.meta.dirname, "..", "Pulumi.prod.yaml"), "utf8");
/** prod as shipped: its registry on and its image there. */
const registryProd = shippedProd;

describe("which tag comes next, as Flux's ImagePolicy sees tags", () => {
  const policyOf = (stack: string) => settingsWithStackFiles(loadStackConfig(stack)).imagePolicy;
  const build = { sha: "84e319d", nowSeconds: pushTime };

  it("prod (strict releases, >=1.0.0): the next patch; the talk's 1337 and other shapes are ignored, saying why", () => {
    const prod = policyOf("prod");
    assert.equal(nextTag(prod, ["1.0.0", "latest", "master-84e319d"], build), "1.0.1");
    assert.equal(nextTag(prod, ["1.0.0", "1.0.7", "1337"], build), "1.0.8");
    assert.equal(nextTag(prod, [], build), "1.0.0");
    assert.deepEqual(considerTag(prod, "1337"), {
      considered: false,
      why: "it does not match imagePolicy.filterTags.pattern ^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)$",
    });
    assert.equal(newestTag(prod, ["1.0.0", "1.0.10", "1.0.9", "1337"]), "1.0.10");
  });

  it("dev (master builds, by push time): master-<sha>-<now>, later than any there is", () => {
    const dev = policyOf("dev");
    assert.equal(nextTag(dev, [], build), `master-84e319d-${pushTime}`);
    assert.equal(nextTag(dev, [`master-84e319d-${pushTime + 5}`], build), `master-84e319d-${pushTime + 6}`);
    assert.equal(newestTag(dev, ["master-84e319d", "master-1-9", "master-2-10"]), "master-2-10");
    assert.deepEqual(considerTag(dev, "master-84e319d"), {
      considered: false,
      why: "it does not match imagePolicy.filterTags.pattern ^master-[a-f0-9]+-(?P<ts>[0-9]+)$",
    });
  });

  it("a semver range with Flux's comma, and versions as Masterminds reads them (v1.2, 1.2)", () => {
    const policy = {
      ...policyOf("prod"),
      filterTags: { pattern: ".*" },
      policy: { semver: { range: ">=1.0.0, <2.0.0" } },
    };
    assert.deepEqual(considerTag(policy, "2.0.0"), {
      considered: false,
      why: "2.0.0 is outside imagePolicy.policy.semver.range >=1.0.0, <2.0.0",
    });
    assert.equal(newestTag(policy, ["v1.2", "1.1.9", "2.0.0", "latest"]), "v1.2");
    assert.equal(nextTag(policy, ["v1.2"], build), "1.2.1");
  });

  it("knows a tag whose extracted value is no number breaks a numerical policy as a whole, as Go's ParseFloat reads numbers", () => {
    const numerical = { ...policyOf("dev"), filterTags: { pattern: "^build-(?P<n>.*)$", extract: "$n" } };
    assert.deepEqual(considerTag(numerical, "build-"), {
      considered: false,
      why: `its extracted value "" is not a number, and Flux's numerical policy then fails for every tag`,
      breaksPolicy: true,
    });
    for (const number of ["12", "1.5", "1e3", "-2", "Inf"])
      assert.equal(considerTag(numerical, `build-${number}`).considered, true, number);
    assert.equal(considerTag(numerical, "build-12abc").considered, false);
  });

  it("gives no next tag where the policy gives no way to tell (alphabetical)", () => {
    const policy = { ...policyOf("prod"), filterTags: { pattern: ".*" }, policy: { alphabetical: { order: "asc" as const } } };
    assert.equal(nextTag(policy, ["a", "b"], build), undefined);
    assert.equal(newestTag(policy, ["a", "c", "b"]), "c");
  });
});

describe("npm run release", () => {
  it("pushes the talk's image under dev's next master build into dev's registry, and says what Flux will do", async () => {
    const docker = fakeDocker();
    const registry = fakeRegistry(["master-84e319d-1580380800"]);
    const result = await release(["dev"], { "Pulumi.dev.yaml": registryStack }, { machine: docker.machine, fetch: registry.fetchTags });
    assert.equal(result.code, 0, result.err);
    assert.deepEqual(registry.urls, ["http://127.0.0.1:5001/v2/ricoberger/gitops-using-flux/tags/list"]);
    const destination = `localhost:5001/ricoberger/gitops-using-flux:master-84e319d-${pushTime}`;
    assert.deepEqual(docker.calls, [
      "docker image inspect ricoberger/gitops-using-flux:master-84e319d",
      "docker pull --platform linux/amd64 ricoberger/gitops-using-flux:master-84e319d",
      `docker tag ricoberger/gitops-using-flux:master-84e319d ${destination}`,
      `docker push ${destination}`,
    ]);
    assert.equal(result.out, `gitops-dev-registry:5000/ricoberger/gitops-using-flux:master-84e319d-${pushTime}\n`);
    assert.match(
      result.err,
      new RegExp(`^gitops: Flux will pick master-84e319d-${pushTime}: its ImagePolicy server-dev moves to it at the next scan`, "m"),
    );
    assert.match(
      result.err,
      new RegExp(
        `^gitops: Git sync is off, so Flux cannot write the tag back: set server.image to gitops-dev-registry:5000/ricoberger/gitops-using-flux:master-84e319d-${pushTime} in Pulumi.dev.yaml, then npm run up -- dev$`,
        "m",
      ),
    );
  });

  it("pulls the talk's image only when Docker lacks it, and releases prod's next patch", async () => {
    const docker = fakeDocker({ hasImage: true });
    const result = await release(
      ["prod"],
      { "Pulumi.prod.yaml": registryProd },
      { machine: docker.machine, fetch: fakeRegistry("empty").fetchTags },
    );
    assert.equal(result.code, 0, result.err);
    assert.ok(!docker.calls.some((call) => call.startsWith("docker pull")), docker.calls.join("\n"));
    assert.equal(result.out, "gitops-prod-registry:5000/ricoberger/gitops-using-flux:1.0.0\n");
  });

  it("pushes a --tag prod's policy ignores, and says Flux will ignore it and why (the talk's 1337)", async () => {
    const result = await release(
      ["prod", "--tag", "1337"],
      { "Pulumi.prod.yaml": registryProd },
      {
        machine: fakeDocker().machine,
        fetch: fakeRegistry(["1.0.0"]).fetchTags,
      },
    );
    assert.equal(result.code, 0, result.err);
    assert.match(result.err, /^gitops: Flux will ignore 1337: it does not match imagePolicy\.filterTags\.pattern/m);
    const older = await release(
      ["prod", "--tag", "0.9.0"],
      { "Pulumi.prod.yaml": registryProd },
      {
        machine: fakeDocker().machine,
        fetch: fakeRegistry(["1.0.0"]).fetchTags,
      },
    );
    assert.match(older.err, /^gitops: Flux will ignore 0\.9\.0: 0\.9\.0 is outside imagePolicy\.policy\.semver\.range >=1\.0\.0$/m);
  });

  describe("refuses, with one line saying what to do", () => {
    const cases: [string, string[], Record<string, string>, ReturnType<typeof fakeDocker>, ReturnType<typeof fakeRegistry>, string][] = [
      [
        "an environment whose registry is off",
        ["dev"],
        {
          "Pulumi.dev.yaml": registryStack.replace("      enabled: true", "      enabled: false").replace("gitops-dev-registry:5000/", ""),
        },
        fakeDocker(),
        fakeRegistry([]),
        "gitops: the local registry of dev is off: set cluster.registry.enabled: true in Pulumi.dev.yaml and run npm run up -- dev (docs/walkthrough.md, step 7)\n",
      ],
      [
        "an environment whose image is not on its registry",
        ["dev"],
        {
          "Pulumi.dev.yaml": registryStack.replace("gitops-dev-registry:5000/ricoberger/gitops-using-flux", "ricoberger/gitops-using-flux"),
        },
        fakeDocker(),
        fakeRegistry([]),
        "gitops: server.image of dev (ricoberger/gitops-using-flux:master-84e319d-1580380800) is not on its local registry, so Flux would never see a release there: set it to gitops-dev-registry:5000/ricoberger/gitops-using-flux:master-84e319d-1580380800\n",
      ],
      [
        "an environment whose image is not on its registry, under a tag its policy rejects: the suggestion is one it takes",
        ["dev"],
        {
          "Pulumi.dev.yaml": registryStack.replace(
            "gitops-dev-registry:5000/ricoberger/gitops-using-flux:master-84e319d-1580380800",
            "ricoberger/gitops-using-flux:master-84e319d",
          ),
        },
        fakeDocker(),
        fakeRegistry([]),
        "gitops: server.image of dev (ricoberger/gitops-using-flux:master-84e319d) is not on its local registry, so Flux would never see a release there: set it to gitops-dev-registry:5000/ricoberger/gitops-using-flux:master-84e319d-1580380800\n",
      ],
      [
        "a registry that does not answer",
        ["dev"],
        { "Pulumi.dev.yaml": registryStack },
        fakeDocker(),
        fakeRegistry("down"),
        "gitops: the local registry of dev does not answer at localhost:5001: is the environment up? (npm run up -- dev)\n",
      ],
      [
        "a machine without Docker",
        ["dev"],
        { "Pulumi.dev.yaml": registryStack },
        fakeDocker({ missing: true }),
        fakeRegistry([]),
        "gitops: releasing localhost:5001/ricoberger/gitops-using-flux:master-84e319d-1795600000: the talk's image ricoberger/gitops-using-flux:master-84e319d under a new tag\n" +
          "gitops: docker pull --platform linux/amd64 ricoberger/gitops-using-flux:master-84e319d\n" +
          "gitops: Docker is needed to push the image: docker is not on PATH\n",
      ],
      [
        "a tag the registry already holds",
        ["prod", "--tag", "1.0.0"],
        { "Pulumi.prod.yaml": registryProd },
        fakeDocker(),
        fakeRegistry(["1.0.0"]),
        "gitops: 1.0.0 is already in the registry: Flux would see nothing new; choose another --tag\n",
      ],
    ];
    for (const [what, argv, files, docker, registry, expected] of cases) {
      it(what, async () => {
        const result = await release(argv, files, { machine: docker.machine, fetch: registry.fetchTags });
        assert.equal(result.code, 1);
        assert.equal(result.err, expected);
        assert.equal(result.out, "");
      });
    }

    it("a --tag that would break a numerical policy as a whole, before anything is pushed", async () => {
      const breakable = registryStack.replace("pattern: '^master-[a-f0-9]+-(?P<ts>[0-9]+)$'", () => "pattern: '^build-(?P<ts>.*)$'");
      const docker = fakeDocker();
      const result = await release(
        ["dev", "--tag", "build-x"],
        { "Pulumi.dev.yaml": breakable },
        { machine: docker.machine, fetch: fakeRegistry([]).fetchTags },
      );
      assert.equal(result.code, 1);
      assert.equal(
        result.err,
        `gitops: not pushing build-x: its extracted value "x" is not a number, and Flux's numerical policy then fails for every tag\n`,
      );
      assert.deepEqual(docker.calls, []);
    });

    it("a failed push, naming the command", async () => {
      const result = await release(
        ["dev"],
        { "Pulumi.dev.yaml": registryStack },
        { machine: fakeDocker({ pushFails: true }).machine, fetch: fakeRegistry([]).fetchTags },
      );
      assert.equal(result.code, 1);
      assert.match(result.err, /^gitops: docker push failed \(exit 1\): see its output above\n$/m);
    });

    it("an unknown environment, and command-line mistakes (exit 2, with the usage)", async () => {
      const unknown = await release(["qa"], {}, { machine: fakeDocker().machine, fetch: fakeRegistry([]).fetchTags });
      assert.equal(unknown.code, 2);
      assert.match(unknown.err, /^gitops: no environment "qa"/);
      for (const [argv, message] of [
        [[], "which environment?"],
        [
          ["dev", "--tag", "1.0/1"],
          `--tag "1.0/1": must be a Docker tag (letters, digits, '_', '.', '-'; at most 128; not starting with '.' or '-')`,
        ],
        [["dev", "--timeout", "soon"], `--timeout "soon": must be a duration such as 90s, 10m or 1m30s`],
      ] as const) {
        const result = await release([...argv], {}, { machine: fakeDocker().machine, fetch: fakeRegistry([]).fetchTags });
        assert.equal(result.code, 2, argv.join(" "));
        assert.equal(result.err, `gitops: ${message}\n${usage}\n`);
      }
      const help = await release(["--help"], {}, {});
      assert.equal(help.code, 0);
      assert.ok(help.out.startsWith(`${usage}\n\nPushes`), help.out);
    });
  });
});
