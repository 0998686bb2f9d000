// What an environment's ImagePolicy makes of image tags, as Flux's image-reflector-controller
// (v1.1.1) does: filterTags.pattern is a regexp search (Go RE2), `extract` expands its groups,
// then semver (Masterminds: lenient versions, `,` for "and"), numerical or alphabetical order
// picks the newest. `npm run release` uses it to choose the next tag and to say what Flux will do,
// and the settings to suggest a tag the policy takes;
// semver ranges are evaluated with node-semver, which agrees with Masterminds on release versions.
import { RE2JS } from "re2js";
import * as semver from "semver";
import type { ImagePolicySettings } from "./imagePolicy.ts";
import { demoImage } from "./server.ts";

/**
 * Ignored by the policy (and why), or considered with the value it orders by. `breaksPolicy`:
 * not ignored but fatal: Flux's numerical policy fails as a whole on a value it cannot parse.
 */
export type Verdict =
  | { readonly considered: true; readonly value: string }
  | { readonly considered: false; readonly why: string; readonly breaksPolicy?: true };

// Go's strconv.ParseFloat, as Flux's numerical policy parses values: decimal (or hex) floats, Inf, NaN.
const goFloat = /^[+-]?(?:(?:\d+(?:_\d+)*)?\.?\d+(?:_\d+)*(?:[eE][+-]?\d+)?|\d+\.|0[xX][0-9a-fA-F_.]+[pP][+-]?\d+|inf(?:inity)?|nan)$/i;

// Masterminds/semver NewVersion: a leading v, and missing minor or patch, are allowed.
const mastermindsVersion = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

/** A version as Masterminds reads it, in node-semver's strict form; undefined when it is none. */
function version(text: string): semver.SemVer | undefined {
  const match = mastermindsVersion.exec(text);
  if (!match) return undefined;
  const [, major, minor = "0", patch = "0", prerelease = "", build = ""] = match;
  return semver.parse(`${major}.${minor}.${patch}${prerelease}${build}`) ?? undefined;
}

/** `$name`, `${name}` and `$1` replaced by the groups of the match, as Go's Regexp.Expand does. */
function expand(template: string, match: ReturnType<ReturnType<typeof RE2JS.compile>["matcher"]>): string {
  return template.replace(/\$(?:\{(\w+)\}|(\w+))/g, (_, braced?: string, bare?: string) => {
    const name = braced ?? bare ?? "";
    return (/^\d+$/.test(name) ? match.group(Number(name)) : match.group(name)) ?? "";
  });
}

/** What the policy makes of `tag`. */
export function considerTag(imagePolicy: ImagePolicySettings, tag: string): Verdict {
  const { pattern, extract } = imagePolicy.filterTags;
  const match = RE2JS.compile(pattern).matcher(tag);
  if (!match.find()) return { considered: false, why: `it does not match imagePolicy.filterTags.pattern ${pattern}` };
  const value = extract ? expand(extract, match) : tag;
  const { policy } = imagePolicy;
  if (policy.semver) {
    const parsed = version(value);
    if (!parsed) return { considered: false, why: `${value} is not a semantic version` };
    if (!semver.satisfies(parsed, policy.semver.range.replace(/,/g, " "))) {
      return { considered: false, why: `${value} is outside imagePolicy.policy.semver.range ${policy.semver.range}` };
    }
  }
  if (policy.numerical && !goFloat.test(value)) {
    return {
      considered: false,
      why: `its extracted value ${JSON.stringify(value)} is not a number, and Flux's numerical policy then fails for every tag`,
      breaksPolicy: true,
    };
  }
  return { considered: true, value };
}

/** The tag the policy picks among `tags`; undefined when it considers none. */
export function newestTag(imagePolicy: ImagePolicySettings, tags: readonly string[]): string | undefined {
  const candidates = tags.flatMap((tag) => {
    const verdict = considerTag(imagePolicy, tag);
    return verdict.considered ? [{ tag, value: verdict.value }] : [];
  });
  const { policy } = imagePolicy;
  const later = (a: { value: string }, b: { value: string }): boolean => {
    if (policy.semver) return semver.gt(version(a.value)!, version(b.value)!);
    if (policy.numerical) return policy.numerical.order === "asc" ? Number(a.value) > Number(b.value) : Number(a.value) < Number(b.value);
    const order = policy.alphabetical?.order ?? "asc";
    return order === "asc" ? a.value > b.value : a.value < b.value;
  };
  return candidates.reduce<(typeof candidates)[number] | undefined>(
    (best, candidate) => (!best || later(candidate, best) ? candidate : best),
    undefined,
  )?.tag;
}

/**
 * The tag a new build would get, so that the policy picks it over `tags`: the next patch
 * release for a semver policy; `master-<sha>-<unix time>` for a numerical one following master
 * builds. Undefined when the policy gives no way to tell (alphabetical, or another tag scheme).
 */
export function nextTag(
  imagePolicy: ImagePolicySettings,
  tags: readonly string[],
  build: { readonly sha: string; readonly nowSeconds: number },
): string | undefined {
  const newest = newestTag(imagePolicy, tags);
  let candidate: string | undefined;
  if (imagePolicy.policy.semver) {
    const newestVersion = newest === undefined ? undefined : version((considerTag(imagePolicy, newest) as { value: string }).value);
    candidate = newestVersion
      ? semver.inc(newestVersion, "patch")!
      : (semver.minVersion(imagePolicy.policy.semver.range.replace(/,/g, " "))?.version ?? undefined);
  } else if (imagePolicy.policy.numerical) {
    const newestValue = newest === undefined ? 0 : Number((considerTag(imagePolicy, newest) as { value: string }).value);
    candidate = `master-${build.sha}-${Math.max(build.nowSeconds, newestValue + 1)}`;
  }
  return candidate !== undefined &&
    considerTag(imagePolicy, candidate).considered &&
    newestTag(imagePolicy, [...tags, candidate]) === candidate
    ? candidate
    : undefined;
}

/** The commit of the talk's image (its tag, master-84e319d). */
export const demoSha = /master-([a-f0-9]+)$/.exec(demoImage)![1]!;
/** The build time the shipped dev tag gives the talk's image (master-84e319d-1580380800: 2020-01-30). */
export const demoBuildTime = 1580380800;

/**
 * `tag` when the policy takes it, else the first tag it takes for the same build (a master build
 * with the demo's build time appended, or the lowest release of a semver range): what to suggest.
 */
export function tagThePolicyTakes(imagePolicy: ImagePolicySettings, tag: string): string {
  if (considerTag(imagePolicy, tag).considered) return tag;
  const sha = /^master-([a-f0-9]+)/.exec(tag)?.[1] ?? demoSha;
  return nextTag(imagePolicy, [], { sha, nowSeconds: demoBuildTime }) ?? tag;
}
