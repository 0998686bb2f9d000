// Field rules shared by every settings section. Each carries one sentence saying what is
// allowed; that sentence becomes the error text, after the key and the value.
import { z } from "zod";

/**
 * A string, as Pulumi stores it: `pulumi config set --path git.branch 2024` and a YAML
 * `branch: 2024` store a number, which the setting takes as the text it was written as.
 */
export const string = (allowed: string) =>
  z.preprocess((value) => (typeof value === "number" ? String(value) : value), z.string({ error: allowed }));

/** A string matching `pattern`. */
export const text = (pattern: RegExp, allowed: string) => string(allowed).pipe(z.string().regex(pattern, { error: allowed }));

export const wholeNumber = (min: number, max: number) => {
  const allowed = `must be a whole number from ${min} to ${max}`;
  return z.int({ error: allowed }).min(min, { error: allowed }).max(max, { error: allowed });
};

export const nonEmpty = (allowed: string) => string(allowed).pipe(z.string().min(1, { error: allowed }));

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

/** Stands in an issue's `input` for a value that must never be shown (a credential). */
export const hidden = Symbol("value hidden");

// Go's time.ParseDuration, which kind's --wait uses.
const goDurationPattern = /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/;
// The patterns of Flux 2.8's CRDs: intervals and most timeouts; the source timeouts allow no hours.
const fluxDurationPattern = /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/;
const fluxShortDurationPattern = /^([0-9]+(\.[0-9]+)?(ms|s|m))+$/;
const unitMilliseconds: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1e3, m: 6e4, h: 3.6e6 };

/** A Go-style duration (1m30s) in milliseconds. */
export function durationMilliseconds(duration: string): number {
  let total = 0;
  for (const match of duration.matchAll(/([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/g))
    total += Number(match[1]) * unitMilliseconds[match[2]!]!;
  return total;
}

/** A duration that must pass time: matching `pattern` (the rule of the field it ends up in) and longer than zero. */
const positiveDuration = (pattern: RegExp, allowed: string) =>
  text(pattern, allowed).refine((duration) => !pattern.test(duration) || durationMilliseconds(duration) > 0, {
    error: `${allowed}, longer than zero`,
  });

/** A duration kind takes (`kind create cluster --wait`, Go's time.ParseDuration). */
export const kindDuration = (example: string) => positiveDuration(goDurationPattern, `must be a duration such as ${example}`);
/** A duration a Flux interval or timeout field takes (units ms, s, m, h). */
export const fluxDuration = (example: string) =>
  positiveDuration(fluxDurationPattern, `must be a duration such as ${example} (units ms, s, m, h)`);
/** A duration Flux's source timeouts take: no hours (GitRepository spec.timeout). */
export const fluxShortDuration = (example: string) =>
  positiveDuration(fluxShortDurationPattern, `must be a duration such as ${example} (units ms, s, m: this field takes no hours)`);

/** Prometheus' durations (model.ParseDuration): whole numbers, units from the largest, each at most once. */
export const prometheusDurationPattern =
  /^(?:([0-9]+)y)?(?:([0-9]+)w)?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?(?:([0-9]+)ms)?$/;
const exactVersion = /^[0-9]+\.[0-9]+\.[0-9]+$/;

/** An exact MAJOR.MINOR.PATCH version, pinned (ranges are refused), defaulting to `version`. */
export const exactVersionOf = (version: string, what: string) =>
  text(exactVersion, `must be an exact ${what} such as ${version} (no ranges: it is pinned)`).default(version);

/** The two fields of a chart the program pins: an exact version, from an https:// repository. */
export const pinnedChart = (chart: { version: string; repository: string; versionDoc: string; repositoryDoc: string }) => ({
  chartVersion: described(
    text(exactVersion, `must be an exact chart version such as ${chart.version} (no ranges: charts are pinned)`).default(chart.version),
    chart.versionDoc,
  ),
  repository: described(
    z
      .url({ protocol: /^https$/, error: "must be an https:// Helm repository URL" })
      .superRefine((url, ctx) => {
        if (!URL.canParse(url)) return; // already refused as no URL
        const { username, password } = new URL(url);
        // A password here would end up in the Helm release and the cluster's objects, unencrypted.
        if (username || password)
          ctx.addIssue({ code: "custom", input: hidden, message: "must not carry credentials: the charts are public" });
      })
      .default(chart.repository),
    chart.repositoryDoc,
  ),
});
