// How Flux picks the newest server image, and the name and setter marker of each
// environment's ImagePolicy.
import { RE2JS } from "re2js";
import { z } from "zod";
import { described, fluxDuration, oneOf, section, string } from "./fields.ts";
import type { ProjectFile } from "./project.ts";

/**
 * Name of an environment's server ImagePolicy. It differs per environment because every
 * cluster's image automation scans the whole repository: with one shared name, dev's would
 * rewrite prod's stack file too.
 */
export const serverImagePolicy = (stack: string) => `server-${stack}`;

/** The setter marker Flux's image updates look for on the server image line of a stack file. */
export const imagePolicyMarker = (fluxNamespace: string, stack: string) =>
  `# {"$imagepolicy": "${fluxNamespace}:${serverImagePolicy(stack)}"}`;

const sortOrder = oneOf(["asc", "desc"]);
/** Checks a Go (RE2) pattern and that `extract` only names groups it has. */
const filterTags = section({
  pattern: z.string({ error: "must be a regular expression (Go RE2 syntax)" }),
  extract: z.string({ error: "must be a replacement such as $ts naming a group of the pattern" }).optional(),
}).superRefine((filter, ctx) => {
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(filter.pattern);
  } catch (error) {
    ctx.addIssue({
      code: "custom",
      path: ["pattern"],
      input: filter.pattern,
      message: `must be a valid Go (RE2) regular expression: ${(error as Error).message}`,
    });
    return;
  }
  const groups = new Set<string>([
    ...Object.keys(compiled.namedGroups()),
    ...Array.from({ length: compiled.groupCount() + 1 }, (_, i) => String(i)),
  ]);
  for (const match of (filter.extract ?? "").matchAll(/\$(?:\{(?<braced>[^}]*)\}|(?<bare>[A-Za-z0-9_]+))/g)) {
    const group = match.groups?.braced ?? match.groups?.bare ?? "";
    if (!groups.has(group)) {
      ctx.addIssue({
        code: "custom",
        path: ["extract"],
        input: filter.extract,
        message: `must name a group of the pattern: it has no group "${group}"`,
      });
    }
  }
});
// Flux parses ranges with Masterminds/semver v3.4.0 (image-reflector-controller v1.1.1):
// NewConstraint rewrites hyphen ranges, splits on "||" and requires each part to match
// validConstraintRegex (constraints.go). Its regexes, in JavaScript.
const constraintVersion =
  "v?([0-9|x|X|\\*]+)(\\.[0-9|x|X|\\*]+)?(\\.[0-9|x|X|\\*]+)?(-([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?(\\+([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?";
const constraintOperators = "=||!=|>|<|>=|=>|<=|=<|~|~>|\\^";
const hyphenRange = new RegExp(`\\s*(${constraintVersion})\\s+-\\s+(${constraintVersion})\\s*`, "g");
const validConstraint = new RegExp(
  `^(\\s*(${constraintOperators})\\s*(${constraintVersion})\\s*)((?:\\s+|,\\s*)(${constraintOperators})\\s*(${constraintVersion})\\s*)*$`,
);

/** Whether Masterminds/semver (as Flux uses it) takes `range`: `>=1.0.0 ||` is an error there, `!=1.0.0` is not. */
export function mastermindsRangeValid(range: string): boolean {
  const rewritten = range.replace(
    hyphenRange,
    (match: string, from: string, ...groups: unknown[]) => `>= ${from}, <= ${String(groups[9])}`,
  );
  return rewritten.split("||").every((part) => validConstraint.test(part));
}

const semverRange = string("must be a semver range such as >=1.0.0").refine(mastermindsRangeValid, {
  error: "must be a semver range as Flux reads it (Masterminds/semver), such as >=1.0.0, ^1.2 or >=1.0.0 <2.0.0",
});

export const imagePolicySchema = described(
  section({
    scanInterval: described(fluxDuration("1m or 5m").default("5m"), "how often Flux scans the server image's tags"),
    // The demo's prod rule: strict MAJOR.MINOR.PATCH tags only (a bare "semver" also took a tag 1337).
    filterTags: described(
      filterTags.default({ pattern: "^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)$" }),
      "`pattern` (Go RE2 syntax) and optional `extract` (such as `$ts`, naming a group of the pattern)",
    ),
    policy: described(
      section({
        semver: section({ range: semverRange }).optional(),
        numerical: section({ order: sortOrder }).optional(),
        alphabetical: section({ order: sortOrder }).optional(),
      })
        .superRefine((policy, ctx) => {
          const chosen = Object.values(policy).filter((rule) => rule !== undefined).length;
          if (chosen !== 1)
            ctx.addIssue({ code: "custom", input: policy, message: "must set exactly one of semver, numerical, alphabetical" });
        })
        .default({ semver: { range: ">=1.0.0" } }),
      "exactly one of `semver: {range}`, `numerical: {order: asc|desc}`, `alphabetical: {order: asc|desc}`",
    ),
  })
    .superRefine((imagePolicy, ctx) => {
      if (imagePolicy.policy.numerical && !imagePolicy.filterTags.extract) {
        ctx.addIssue({
          code: "custom",
          path: ["filterTags", "extract"],
          input: imagePolicy.filterTags.extract,
          message: "must name the number to order by (such as $ts) when policy is numerical",
        });
      }
    })
    .prefault({}),
  "How Flux picks the newest server image: scanInterval, filterTags {pattern, extract}, policy (exactly one of semver {range}, numerical {order}, alphabetical {order}).",
);

export type ImagePolicySettings = z.output<typeof imagePolicySchema>;

/**
 * Image updates rewrite the line of the stack file that carries the setter marker. Tools that
 * rewrite the file (`pulumi config set`) may drop comments, and with them the marker.
 */
export function markerWarning(fluxNamespace: string, stack: string, stackFile: ProjectFile): string | undefined {
  const marker = imagePolicyMarker(fluxNamespace, stack);
  const marked = stackFile.text.split("\n").some((line) => /^\s*image:\s*\S+/.test(line) && line.trimEnd().endsWith(marker));
  return marked
    ? undefined
    : `git.imageUpdates is on, but no image line of ${stackFile.path} ends with the marker ${marker}: ` +
        "Flux will find nothing to update (`pulumi config set` may have removed the comment; add it back to the server image line)";
}
