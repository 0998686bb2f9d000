// Tables of test cases kept as YAML in test/fixtures/cases/, each file saying which test reads it.
import * as path from "node:path";
import { fixtures, readYamlFile } from "../helpers.ts";

/** The list of cases in test/fixtures/cases/<file>; their shape is for the test that reads them to say. */
export function readCases<Case>(file: string): Case[] {
  const cases = readYamlFile(path.join(fixtures, "cases", file));
  if (!Array.isArray(cases)) throw new Error(`test/fixtures/cases/${file}: must be a YAML list of cases`);
  return cases as Case[];
}
