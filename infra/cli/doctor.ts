// npm run doctor [-- <env>...]
// Checks this machine for what the environments need (all of them by default), one line per
// check; exits 1 when any check failed.
import { formatResults, needsOf, preflight, thisMachine, type CheckResult, type Purpose } from "../preflight";
import { listStacks } from "../offline/stackConfig";

/** Runs the preflight `purpose` needs for `envs`, prints it, and says whether it passed. */
export async function runPreflight(envs: readonly string[], purpose: Purpose, print: (line: string) => void = console.error): Promise<boolean> {
  const started = Date.now();
  const { needs, problems } = needsOf(envs);
  const results: CheckResult[] = [...(await preflight(thisMachine, needs, purpose)), ...problems];
  const failed = results.filter((result) => result.status === "fail").length;
  print(formatResults(results));
  print(
    `preflight for ${envs.join(", ")}: ${failed === 0 ? "ready" : `${failed} problem${failed === 1 ? "" : "s"}`} (${((Date.now() - started) / 1000).toFixed(1)}s)`,
  );
  return failed === 0;
}

if (require.main === module) {
  const requested = process.argv.slice(2);
  const known = listStacks();
  const unknown = requested.filter((env) => !known.includes(env));
  if (unknown.length > 0) {
    console.error(`gitops: no environment ${unknown.join(", ")} (environments: ${known.join(", ")})\nusage: npm run doctor [-- <env>...]`);
    process.exit(2);
  }
  runPreflight(requested.length > 0 ? requested : known, "doctor").then(
    (passed) => process.exit(passed ? 0 : 1),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
