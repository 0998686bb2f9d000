// Helm values and other YAML mappings.

/** Stands, offline, for a value only the stack's secrets provider can decrypt (Pulumi hands the program the real one). */
export const secretPlaceholder = "[secret: encrypted in the stack file, not readable offline]";

/** Helm values: a YAML mapping. */
export type HelmValues = { [key: string]: unknown };

export function isMapping(value: unknown): value is HelmValues {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Deep-merges Helm values the way Helm does: mappings merge, lists and scalars replace. */
export function mergeValues(base: HelmValues, override: HelmValues): HelmValues {
  const merged: HelmValues = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = merged[key];
    merged[key] = isMapping(current) && isMapping(value) ? mergeValues(current, value) : value;
  }
  return merged;
}
