// README.md and docs/ say only what is there: every page is reachable from the README, every
// link leads somewhere (file and heading), every `npm run` names a script, every option given to
// a command is one it takes, every setting named exists, and every docs page a message points to
// exists. The settings table itself: readme.test.ts.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { projectRoot, settingsSchema } from "../infra/settings/index.ts";
import { help as benchHelp } from "../tools/bench.ts";
import type { ToolHelp } from "../tools/cli.ts";
import { help as doctorHelp } from "../tools/doctor.ts";
import { lifecycleHelp } from "../tools/lifecycle.ts";
import { help as mirrorsHelp } from "../tools/mirrors.ts";
import { help as releaseHelp } from "../tools/release.ts";
import { help as renderHelp } from "../tools/render.ts";
import { help as syncHelp } from "../tools/sync.ts";
import { help as uiHelp } from "../tools/ui.ts";

const pages = ["README.md", ...fs.readdirSync(path.join(projectRoot, "docs")).map((page) => `docs/${page}`)];
const text = new Map(pages.map((page) => [page, fs.readFileSync(path.join(projectRoot, page), "utf8")] as const));
const scripts = Object.keys((JSON.parse(fs.readFileSync(path.join(projectRoot, "package.json"), "utf8")) as { scripts: object }).scripts);

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
const anchorOf = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, "")
    .replace(/ /g, "-");

/** The headings of a Markdown page (outside code blocks). */
function headings(markdown: string): string[] {
  let fenced = false;
  return markdown.split("\n").flatMap((line) => {
    if (line.startsWith("```")) fenced = !fenced;
    const heading = !fenced && /^#{1,6} (.+)$/.exec(line)?.[1];
    return heading ? [anchorOf(heading)] : [];
  });
}

/** Every command line a page shows: its code blocks' lines and its inline code. */
function commandLines(markdown: string): string[] {
  const lines: string[] = [];
  let fenced = false;
  for (const line of markdown.split("\n")) {
    if (line.startsWith("```")) fenced = !fenced;
    else if (fenced) lines.push(line);
    else lines.push(...[...line.matchAll(/`([^`]+)`/g)].map((match) => match[1]!));
  }
  return lines.filter((line) => line.includes("npm run "));
}

const tools = new Map<string, ToolHelp>(
  [
    renderHelp,
    syncHelp,
    uiHelp,
    releaseHelp,
    doctorHelp,
    mirrorsHelp,
    benchHelp,
    ...(["up", "preview", "destroy"] as const).map(lifecycleHelp),
  ].map((help) => [help.command, help] as const),
);

describe("the README and docs/", () => {
  it("the README links every page of docs/", () => {
    const readme = text.get("README.md")!;
    for (const page of pages.filter((candidate) => candidate.startsWith("docs/"))) assert.ok(readme.includes(`](${page})`), page);
  });

  it("every relative link leads to a file that exists, and to a heading it has", () => {
    for (const [page, markdown] of text) {
      for (const [, target] of markdown.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        const [file, anchor] = target!.split("#") as [string, string | undefined];
        const resolved = file === "" ? page : path.normalize(path.join(path.dirname(page), file));
        assert.ok(fs.existsSync(path.join(projectRoot, resolved)), `${page}: ${target} (no ${resolved})`);
        if (anchor !== undefined) {
          assert.ok(
            headings(fs.readFileSync(path.join(projectRoot, resolved), "utf8")).includes(anchor),
            `${page}: ${target} (no such heading)`,
          );
        }
      }
    }
  });

  it("every npm run names a script of package.json", () => {
    let seen = 0;
    for (const [page, markdown] of text) {
      for (const [, script] of markdown.matchAll(/npm run (?:-s )?([a-z][a-z0-9-]*(?::[a-z0-9-]+)?)/g)) {
        seen++;
        assert.ok(scripts.includes(script!), `${page}: npm run ${script}`);
      }
    }
    assert.ok(seen > 30, `only ${seen} commands found`);
  });

  it("every option given to a command is one it takes", () => {
    for (const [page, markdown] of text) {
      for (const line of commandLines(markdown)) {
        for (const [, command, rest] of line.matchAll(/npm run (?:-s )?([a-z0-9:-]+) -- ([^&|>#<]*)/g)) {
          const help = tools.get(command!);
          if (help === undefined) continue;
          const taken = new Set(
            [...`${help.arguments} ${help.options.map(([option]) => option).join(" ")}`.matchAll(/--[a-z-]+/g)].map((m) => m[0]),
          );
          // up, preview and destroy pass every other option on to Pulumi.
          const passesOn = help.options.some(([option]) => option === "<pulumi options>");
          for (const option of rest!.split(/\s+/).filter((word) => word.startsWith("--"))) {
            assert.ok(passesOn || taken.has(option.split("=")[0]!), `${page}: ${line.trim()} (${command} takes no ${option})`);
          }
        }
      }
    }
  });

  it("every setting named in backticks exists", () => {
    const sections = settingsSchema("docs").shape as Record<string, { unwrap(): { shape: Record<string, unknown> } }>;
    for (const [page, markdown] of text) {
      for (const [, key] of markdown.matchAll(/`((?:cluster|namespaces|flux|server|prometheus|imagePolicy|git)\.[a-zA-Z]+)[a-zA-Z.]*`/g)) {
        const [section, field] = key!.split(".") as [string, string];
        assert.ok(field in sections[section]!.unwrap().shape, `${page}: ${key}`);
      }
    }
  });

  it("every docs page the tools' messages point to exists", () => {
    const sources = fs.readdirSync(path.join(projectRoot, "tools")).filter((file) => file.endsWith(".ts"));
    let pointers = 0;
    for (const file of sources) {
      for (const [, page] of fs.readFileSync(path.join(projectRoot, "tools", file), "utf8").matchAll(/\b(docs\/[a-z-]+\.md)/g)) {
        pointers++;
        assert.ok(text.has(page!), `tools/${file}: ${page}`);
      }
    }
    assert.ok(pointers >= 2);
  });

  it("the README fits on a few screens: under 200 lines", () => {
    assert.ok(text.get("README.md")!.split("\n").length < 200);
  });
});
