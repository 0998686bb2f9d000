// The Namespaces component under plain mocks: one namespace per role, Pod Security labels.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { Namespaces } from "../../infra/components/namespaces.ts";
import { settle } from "../helpers.ts";
import { build, providerReference, type Built } from "../support/components.ts";

// A suite of its own: the tests of every file run in one process, and a top-level hook would run for all of them.
describe("the Namespaces component, built alone", () => {
  let built: Built<Namespaces>;
  before(async () => {
    built = await build(
      (cluster) => new Namespaces("ns", { names: { flux: "gitops-flux", server: "apps", monitoring: "metrics" }, cluster }),
    );
  });
  const labels = (role: string) =>
    (built.only("kubernetes:core/v1:Namespace", `ns-${role}`).inputs.metadata as { labels: Record<string, string> }).labels;

  describe("the Namespaces component", () => {
    it("creates one namespace per role with the names it is given, and hands the names on as outputs", async () => {
      const names = built.children
        .filter((r) => r.type === "kubernetes:core/v1:Namespace")
        .map((r) => (r.inputs.metadata as { name: string }).name);
      assert.deepEqual(names.sort(), ["apps", "gitops-flux", "metrics"]);
      assert.equal(await settle(built.component.names.server), "apps");
    });

    it("enforces Pod Security restricted for the server; baseline, warned and audited at restricted, for Flux and monitoring", () => {
      assert.deepEqual(labels("server"), {
        "app.kubernetes.io/part-of": "gitops",
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
      });
      for (const role of ["flux", "monitoring"]) {
        assert.equal(labels(role)["pod-security.kubernetes.io/enforce"], "baseline", role);
        assert.equal(labels(role)["pod-security.kubernetes.io/warn"], "restricted", role);
      }
    });

    it("creates them on the cluster's provider, deleted with the cluster", () => {
      for (const registration of built.children) {
        if (!registration.custom) continue;
        assert.equal(registration.provider, providerReference(built.cluster.provider));
        assert.equal(registration.deletedWith, built.cluster.anchor.urn);
      }
    });
  });
});
