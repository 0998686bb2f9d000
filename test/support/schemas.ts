// Upstream schemas for the objects the program renders:
// - the kubernetes-models packages' validators (required fields, types, enums), for every kind;
// - a strict check against the pinned Flux 2.9.4 and Flux Operator CRDs (test/fixtures/flux-crds,
//   flux-operator-crds) that also rejects fields the schema does not have: the API server would
//   silently drop a misspelt field.
import * as fs from "node:fs";
import * as path from "node:path";
// ajv is CommonJS: from an ES module, its class is the default export's `default`.
import ajvModule, { type ValidateFunction } from "ajv";
import * as YAML from "yaml";
import { isMapping } from "../../infra/settings/index.ts";
import { fixtures } from "../helpers.ts";

const Ajv = ajvModule.default;

export interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

const fluxGroups = /\.toolkit\.fluxcd\.io$/;
const operatorGroup = "fluxcd.controlplane.io";
/** A Flux object or a Flux Operator object: both are checked against their CRDs. */
export const isFluxObject = (object: KubernetesObject) => {
  const group = object.apiVersion.split("/")[0]!;
  return fluxGroups.test(group) || group === operatorGroup;
};

/** The module of the kubernetes-models family that defines a group/version. */
function modelModule(apiVersion: string): string {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  if (fluxGroups.test(group!)) return `@kubernetes-models/flux-cd/${group}/${version}`;
  if (group === "monitoring.coreos.com") return `@kubernetes-models/prometheus-operator/${group}/${version}`;
  return group ? `kubernetes-models/${group}/${version}` : `kubernetes-models/${version}`;
}

/** Throws the model's validation error, or an error naming a kind the models do not have. */
export async function validateWithModel(object: KubernetesObject): Promise<void> {
  // Flux Operator's kinds have no kubernetes-models package: their CRD is the schema.
  if (object.apiVersion.split("/")[0] === operatorGroup) {
    const problems = crdProblems(object);
    if (problems.length > 0) throw new Error(problems.join("; "));
    return;
  }
  const module = (await import(modelModule(object.apiVersion))) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = module[object.kind];
  if (!Model) throw new Error(`no model for ${object.apiVersion} ${object.kind}`);
  new Model(object).validate();
}

/** A CRD schema made strict: every object with declared properties rejects any other property. */
function strict(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strict);
  if (!isMapping(schema)) return schema;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    copy[key] =
      key === "properties" && isMapping(value) ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, strict(v)])) : strict(value);
  }
  if (isMapping(schema.properties) && schema["x-kubernetes-preserve-unknown-fields"] !== true && !("additionalProperties" in schema)) {
    copy.additionalProperties = false;
  }
  return copy;
}

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
const crdValidators = new Map<string, ValidateFunction>();
const crdFiles = ["flux-crds", "flux-operator-crds"].flatMap((folder) =>
  fs.readdirSync(path.join(fixtures, folder)).map((file) => path.join(fixtures, folder, file)),
);
for (const file of crdFiles) {
  const crd = YAML.parse(fs.readFileSync(file, "utf8")) as {
    spec: { group: string; names: { kind: string }; versions: { name: string; served: boolean; schema: { openAPIV3Schema: unknown } }[] };
  };
  for (const version of crd.spec.versions.filter((v) => v.served)) {
    crdValidators.set(
      `${crd.spec.group}/${version.name} ${crd.spec.names.kind}`,
      ajv.compile(strict(version.schema.openAPIV3Schema) as object),
    );
  }
}

/** Problems of a Flux object against the pinned CRD (empty when it conforms). */
export function crdProblems(object: KubernetesObject): string[] {
  const validate = crdValidators.get(`${object.apiVersion} ${object.kind}`);
  if (!validate) return [`no served CRD version for ${object.apiVersion} ${object.kind} in Flux 2.9.4 or Flux Operator 0.58.1`];
  if (validate(object)) return [];
  return (validate.errors ?? []).map((error) =>
    error.keyword === "additionalProperties"
      ? `${error.instancePath}: unknown field ${String((error.params as { additionalProperty: string }).additionalProperty)}`
      : `${error.instancePath}: ${error.message ?? error.keyword}`,
  );
}
