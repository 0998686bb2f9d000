// The GitOps loop under Pulumi's mock engine: Git sync objects, deploy keys, image updates.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { githubKnownHosts, parseSettings } from "../infra/config";
import { commitMessageTemplate, credentialsFor } from "../infra/gitSync";
import type { Registration } from "../infra/offline/mockEngine";
import { renderRegistrations } from "../infra/offline/render";
import { loadStackConfig } from "../infra/offline/stackConfig";
import { evaluate, evaluatedBefore, fixtures, only, projectCopy, runCli, settle } from "./helpers";
import { crdProblems, validateWithModel, type KubernetesObject } from "./support/schemas";

const fixture = (name: string) => path.join(fixtures, "stacks", `${name}.yaml`);
const evaluations = evaluatedBefore({
  ...Object.fromEntries(["git-ssh", "git-https", "git-ssh-own-key"].map((name) => [name, { stack: "dev", stackFile: fixture(name) }])),
  "no-repository": { stack: "dev" },
});
const registrations = (name: string) => evaluations.get(name)!.registrations;
const outputs = (name: string) => evaluations.get(name)!.outputs as unknown as Record<string, unknown>;
const spec = (name: string, type: string) => (only(registrations(name), type).inputs as { spec: Record<string, unknown> }).spec;
const types = {
  gitRepository: "kubernetes:source.toolkit.fluxcd.io/v1:GitRepository",
  kustomization: "kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization",
  imageUpdates: "kubernetes:image.toolkit.fluxcd.io/v1:ImageUpdateAutomation",
  secret: "kubernetes:core/v1:Secret",
  privateKey: "tls:index/privateKey:PrivateKey",
};

describe("git sync over SSH with a generated deploy key (GitHub)", () => {
  it("creates a GitRepository for the branch, polled every 5m with a 20s git timeout", () => {
    assert.deepEqual(spec("git-ssh", types.gitRepository), {
      url: "ssh://git@github.com/acme/gitops-demo.git",
      ref: { branch: "main" },
      interval: "5m",
      timeout: "20s",
      secretRef: { name: "flux-system" },
    });
  });

  it("applies ./stacks/dev/apps with prune and a health-check timeout", () => {
    assert.deepEqual(spec("git-ssh", types.kustomization), {
      interval: "5m",
      path: "./stacks/dev/apps",
      prune: true,
      sourceRef: { kind: "GitRepository", name: "flux-system" },
      wait: true,
      timeout: "3m",
    });
  });

  it("puts the sync objects in flux-system, after the Flux release, deleted with the cluster", () => {
    const flux = only(registrations("git-ssh"), "kubernetes:helm.sh/v3:Release");
    const kind = only(registrations("git-ssh"), "command:local:Command");
    for (const type of [types.gitRepository, types.kustomization, types.imageUpdates]) {
      const registration = only(registrations("git-ssh"), type);
      assert.equal((registration.inputs.metadata as { namespace: string }).namespace, "flux-system", type);
      assert.ok(registration.dependencies.includes(flux.urn), type);
      assert.equal(registration.deletedWith, kind.urn, type);
    }
  });

  it("generates a stable ED25519 key pair as a Pulumi resource", () => {
    const key = only(registrations("git-ssh"), types.privateKey);
    assert.deepEqual(key.inputs, { algorithm: "ED25519" });
    assert.match(key.parent, /gitops:infra:GitSync::git$/);
  });

  it("stores the key in the source-controller's format, as a secret", () => {
    const secret = only(registrations("git-ssh"), types.secret);
    assert.deepEqual(secret.secretInputs, ["stringData"]);
    assert.deepEqual(secret.inputs.metadata, { name: "flux-system", namespace: "flux-system" });
    assert.deepEqual(secret.inputs.type, "Opaque");
  });

  it("exports the public key, where to add it, and that it needs write access", async () => {
    const out = outputs("git-ssh");
    assert.equal(await settle(out.deployKey as pulumi.Output<string>), "(known after deployment: generated SSH public key)");
    assert.equal(out.deployKeyPage, "https://github.com/acme/gitops-demo/settings/keys/new");
    assert.equal(out.deployKeyAccess, 'read-write: tick "Allow write access" (Flux pushes image updates)');
    assert.equal(out.gitSync, "on: ssh://git@github.com/acme/gitops-demo.git branch main, path ./stacks/dev/apps, every 5m, image updates pushed back");
  });

  it("writes new image tags back as Flux's noreply bot, with a message naming the environment, setters from the root", () => {
    const policy = only(registrations("git-ssh"), "kubernetes:image.toolkit.fluxcd.io/v1:ImagePolicy");
    const automation = only(registrations("git-ssh"), types.imageUpdates);
    assert.equal((automation.inputs.metadata as { namespace: string }).namespace, (policy.inputs.metadata as { namespace: string }).namespace);
    assert.deepEqual(spec("git-ssh", types.imageUpdates), {
      interval: "5m",
      sourceRef: { kind: "GitRepository", name: "flux-system" },
      git: {
        checkout: { ref: { branch: "main" } },
        commit: { author: { name: "fluxcdbot", email: "fluxcdbot@users.noreply.github.com" }, messageTemplate: commitMessageTemplate("dev") },
        push: { branch: "main" },
      },
      update: { path: "./", strategy: "Setters" },
    });
    assert.match(commitMessageTemplate("dev"), /^\[dev\] Update images\n\n\{\{ range \.Changed\.Changes -\}\}\n- \{\{ \.OldValue \}\} -> \{\{ \.NewValue \}\}/);
  });
});

describe("git sync over HTTPS with a token", () => {
  it("keeps the configured branch, path, interval and prune", () => {
    const repository = spec("git-https", types.gitRepository);
    assert.equal(repository.url, "https://github.com/acme/gitops-demo");
    assert.deepEqual(repository.ref, { branch: "demo" });
    assert.equal(repository.interval, "1m");
    const kustomization = spec("git-https", types.kustomization);
    assert.equal(kustomization.path, "./clusters/dev");
    assert.equal(kustomization.prune, false);
    assert.deepEqual((spec("git-https", types.imageUpdates).git as { commit: { author: unknown } }).commit.author, {
      name: "Demo Bot",
      email: "bot@example.com",
    });
  });

  it("uses the token from secret config as the password, and generates no key", () => {
    assert.deepEqual(only(registrations("git-https"), types.secret).secretInputs, ["stringData"]);
    assert.equal(registrations("git-https").filter((r) => r.type === types.privateKey).length, 0);
    const out = outputs("git-https");
    assert.equal(out.deployKey, undefined);
    assert.equal(out.deployKeyAccess, undefined);
  });
});

describe("git sync with the user's own SSH key and a self-hosted host", () => {
  it("uses the supplied key and known_hosts, is read-only and writes nothing back", () => {
    assert.equal(registrations("git-ssh-own-key").filter((r) => r.type === types.privateKey).length, 0);
    assert.equal(registrations("git-ssh-own-key").filter((r) => r.type === types.imageUpdates).length, 0);
    const out = outputs("git-ssh-own-key");
    assert.equal(out.deployKey, undefined);
    assert.equal(out.deployKeyPage, undefined);
    assert.equal(out.deployKeyAccess, 'read-only: leave "Allow write access" unticked');
  });
});

describe("the Secret's data", () => {
  const settingsOf = (name: string) => parseSettings({ ...loadStackConfig("dev", undefined, fixture(name)), stack: "dev" });
  const dataOf = (name: string, generatedKey?: { privateKeyOpenssh: pulumi.Output<string>; publicKeyOpenssh: pulumi.Output<string> }) => {
    const settings = settingsOf(name);
    const data = credentialsFor({ settings: settings.git, location: settings.gitLocation!, secrets: settings.secrets }, generatedKey);
    assert.ok(data);
    return settle(data);
  };

  it("has the source-controller's keys in every registered Secret, all of them secret", () => {
    const keys = (name: string) => Object.keys(only(registrations(name), types.secret).inputs.stringData as object).sort();
    assert.deepEqual(keys("git-ssh"), ["identity", "identity.pub", "known_hosts"]);
    assert.deepEqual(keys("git-ssh-own-key"), ["identity", "known_hosts"]);
    assert.deepEqual(keys("git-https"), ["password", "username"]);
    for (const name of ["git-ssh", "git-ssh-own-key", "git-https"]) {
      const values = Object.values(only(registrations(name), types.secret).inputs.stringData as object);
      assert.ok(values.every((value) => value === "(secret)"), name);
    }
  });

  it("SSH: the generated key pair and GitHub's known_hosts", async () => {
    const key = { privateKeyOpenssh: pulumi.output("PRIVATE"), publicKeyOpenssh: pulumi.output("ssh-ed25519 PUBLIC") };
    assert.deepEqual(await dataOf("git-ssh", key), { identity: "PRIVATE", "identity.pub": "ssh-ed25519 PUBLIC", known_hosts: githubKnownHosts });
  });

  it("SSH with the user's key: that key and the configured known_hosts", async () => {
    const data = await dataOf("git-ssh-own-key");
    assert.deepEqual(Object.keys(data).sort(), ["identity", "known_hosts"]);
    assert.match(data.known_hosts!, /^\[git\.example\.com\]:2222 ssh-ed25519 /);
  });

  it("HTTPS: username git and the token as password, kept secret", async () => {
    const settings = settingsOf("git-https");
    const data = credentialsFor({ settings: settings.git, location: settings.gitLocation!, secrets: settings.secrets })!;
    assert.equal(await pulumi.isSecret(data), true);
    assert.deepEqual(Object.keys(await settle(data)).sort(), ["password", "username"]);
    assert.equal((await settle(data)).username, "git");
  });
});

describe("GitHub's built-in host keys", () => {
  it("are the keys GitHub publishes, by their SHA256 fingerprints", () => {
    const fingerprints = githubKnownHosts.split("\n").map((line) => {
      const [host, type, key] = line.split(" ");
      const digest = createHash("sha256").update(Buffer.from(key!, "base64")).digest("base64").replace(/=+$/, "");
      return `${host} ${type} SHA256:${digest}`;
    });
    // docs.github.com: "GitHub's SSH key fingerprints".
    assert.deepEqual(fingerprints, [
      "github.com ssh-ed25519 SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU",
      "github.com ecdsa-sha2-nistp256 SHA256:p2QAMXNIC1TJYWeIOttrVc98/R1BUFWu3/LiyKgUfQM",
      "github.com ssh-rsa SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s",
    ]);
  });
});

describe("with no repository configured", () => {
  it("creates no sync object, key or Secret, and says sync is off", () => {
    const gitTypes: string[] = Object.values(types);
    assert.deepEqual(registrations("no-repository").filter((r: Registration) => gitTypes.includes(r.type)), []);
    assert.equal(outputs("no-repository").gitSync, "off: no repository configured (set git.url in Pulumi.dev.yaml)");
    assert.equal(outputs("no-repository").deployKey, undefined);
  });
});

describe("the new Flux objects against the pinned CRDs", () => {
  for (const name of ["git-ssh", "git-https", "git-ssh-own-key"]) {
    it(`${name}: GitRepository, Kustomization, ImageUpdateAutomation and Secret validate strictly`, async () => {
      const manifests = renderRegistrations(registrations(name)).manifests as KubernetesObject[];
      const gitObjects = manifests.filter((object) => ["GitRepository", "Kustomization", "ImageUpdateAutomation", "Secret"].includes(object.kind));
      assert.ok(gitObjects.length >= 3);
      for (const object of gitObjects) {
        await validateWithModel(object);
        if (object.kind !== "Secret") assert.deepEqual(crdProblems(object), [], object.kind);
      }
    });
  }

  it("render of a stack with a repository shows the sync objects", () => {
    const copy = projectCopy({ "Pulumi.gitdemo.yaml": fs.readFileSync(fixture("git-ssh"), "utf8") });
    try {
      const result = runCli("infra/cli/render.ts", ["gitdemo"], { cwd: copy.root });
      assert.equal(result.status, 0, result.stderr);
      const kinds = YAML.parseAllDocuments(result.stdout).map((document) => (document.toJS() as { kind: string }).kind);
      for (const kind of ["Secret", "GitRepository", "Kustomization", "ImageUpdateAutomation"]) assert.ok(kinds.includes(kind), kind);
      assert.doesNotMatch(result.stdout, /PRIVATE KEY/);
    } finally {
      copy.remove();
    }
  });
});

describe("a stack file that lost its setter marker", () => {
  const withImageUpdates = { "gitops:git": JSON.stringify({ url: "ssh://git@github.com/acme/demo.git", readOnly: false, imageUpdates: { enabled: true } }) };
  const warningsFor = (text: string) =>
    parseSettings({ stack: "dev", project: "gitops", config: withImageUpdates, stackFile: { path: "Pulumi.dev.yaml", text } }).warnings;
  const shipped = fs.readFileSync(path.join(__dirname, "..", "Pulumi.dev.yaml"), "utf8");

  it("is warned about when image updates are on (pulumi config set may drop comments)", () => {
    const stripped = shipped.replace(/ # \{"\$imagepolicy": "[^"]+"\}/, "");
    assert.notEqual(stripped, shipped);
    assert.deepEqual(warningsFor(stripped), [
      'git.imageUpdates is on, but no image line of Pulumi.dev.yaml ends with the marker # {"$imagepolicy": "flux-system:server-dev"}: ' +
        "Flux will find nothing to update (`pulumi config set` may have removed the comment; add it back to the server image line)",
    ]);
  });

  it("is not warned about while the marker is there, or when image updates are off", () => {
    assert.deepEqual(warningsFor(shipped), []);
    assert.deepEqual(parseSettings({ stack: "dev", project: "gitops", config: {}, stackFile: { path: "Pulumi.dev.yaml", text: "" } }).warnings, []);
  });
});

describe("the setter markers in the stack files", () => {
  const markerLine = /^(?<indent>\s*)image: (?<image>\S+) # \{"\$imagepolicy": "(?<policy>[^"]+)"\}$/m;

  it("differ per environment: each cluster's image updates scan the whole repository, so they must rewrite only their own file", () => {
    const markers = ["dev", "prod"].map((stack) => markerLine.exec(fs.readFileSync(path.join(__dirname, "..", `Pulumi.${stack}.yaml`), "utf8"))?.groups?.policy);
    assert.deepEqual(markers, ["flux-system:server-dev", "flux-system:server-prod"]);
  });

  for (const stack of ["dev", "prod"]) {
    it(`Pulumi.${stack}.yaml marks the server image with the real ImagePolicy`, async () => {
      const text = fs.readFileSync(path.join(__dirname, "..", `Pulumi.${stack}.yaml`), "utf8");
      const marker = markerLine.exec(text);
      assert.ok(marker?.groups, "no marked image line");
      const evaluation = await evaluate(stack);
      const policy = only(evaluation.registrations, "kubernetes:image.toolkit.fluxcd.io/v1:ImagePolicy").inputs.metadata as {
        name: string;
        namespace: string;
      };
      assert.equal(marker.groups.policy, `${policy.namespace}:${policy.name}`);
      // It is the server's image key, not some other value.
      const parsed = YAML.parse(text) as { config: { "gitops:server": { image: string } } };
      assert.equal(parsed.config["gitops:server"].image, marker.groups.image);
    });

    it(`Pulumi.${stack}.yaml still loads and validates after Flux rewrites the marked line`, () => {
      const text = fs.readFileSync(path.join(__dirname, "..", `Pulumi.${stack}.yaml`), "utf8");
      // What the image-automation-controller does: replace the value, keep the marker.
      const rewritten = text.replace(markerLine, (line, ...args) => {
        const groups = args.at(-1) as { image: string };
        return line.replace(groups.image, "ricoberger/gitops-using-flux:2.3.4");
      });
      assert.notEqual(rewritten, text);
      const copy = projectCopy({ [`Pulumi.${stack}.yaml`]: rewritten });
      try {
        const raw = loadStackConfig(stack, copy.root);
        const settings = parseSettings({ ...raw, stack });
        assert.equal(settings.server.image, "ricoberger/gitops-using-flux:2.3.4");
      } finally {
        copy.remove();
      }
    });
  }
});
