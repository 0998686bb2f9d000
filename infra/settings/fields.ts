// Field rules shared by every settings section. Each carries one sentence saying what is
// allowed; that sentence becomes the error text, after the key and the value.
import { z } from "zod";

/** A string matching `pattern`. */
export const text = (pattern: RegExp, allowed: string) => z.string({ error: allowed }).regex(pattern, { error: allowed });

export const wholeNumber = (min: number, max: number) => {
  const allowed = `must be a whole number from ${min} to ${max}`;
  return z.int({ error: allowed }).min(min, { error: allowed }).max(max, { error: allowed });
};

export const nonEmpty = (allowed: string) => z.string({ error: allowed }).min(1, { error: allowed });

export const yesNo = () => z.boolean({ error: "must be true or false" });

export const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `must be one of ${values.join(", ")}` });

/** A mapping that rejects unknown keys, naming the allowed ones. */
export const section = <S extends z.ZodRawShape>(shape: S) => {
  const keys = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === "unrecognized_keys" ? `unknown setting (allowed: ${keys})` : `must be a mapping with the keys ${keys}`,
  });
};

/** What a setting does, in one sentence: README's settings table and Pulumi.yaml are checked against it. */
export const described = <T extends z.ZodType>(schema: T, description: string): T => schema.meta({ description });

/** The description a setting was given with `described`. */
export const descriptionOf = (schema: z.ZodType): string | undefined => schema.meta()?.description;

// Go's time.ParseDuration, which kind's --wait and Flux's durations use.
export const goDuration = /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/;
const exactVersion = /^[0-9]+\.[0-9]+\.[0-9]+$/;

/** The two fields of a chart the program pins: an exact version, from an https:// repository. */
export const pinnedChart = (chart: { version: string; repository: string; versionDoc: string; repositoryDoc: string }) => ({
  chartVersion: described(
    text(exactVersion, `must be an exact chart version such as ${chart.version} (no ranges: charts are pinned)`).default(chart.version),
    chart.versionDoc,
  ),
  repository: described(
    z.url({ protocol: /^https$/, error: "must be an https:// Helm repository URL" }).default(chart.repository),
    chart.repositoryDoc,
  ),
});
