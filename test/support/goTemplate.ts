// `docker ... --format` as Docker renders it: Go's text/template over the object's JSON, a line per
// object. Only the parts our tools' templates use: {{.A.B}}, {{.}}, {{range .X}}...{{end}} and
// text between; anything else throws, so a new template is never answered by a guess. Values
// print as Go's fmt does: true/false, a list as [a b], a missing map key as <no value>.

type Node = { text: string } | { field: string[] } | { range: string[]; body: Node[] };

function parse(template: string): Node[] {
  const tokens = template.split(/({{.*?}})/s).filter((token) => token !== "");
  const stack: Node[][] = [[]];
  const ranges: { range: string[]; body: Node[] }[] = [];
  for (const token of tokens) {
    const action = /^{{\s*(.*?)\s*}}$/s.exec(token)?.[1];
    if (action === undefined) stack.at(-1)!.push({ text: token });
    else if (action === "end") {
      const finished = ranges.pop();
      if (!finished) throw new Error(`template: unexpected {{end}} in ${template}`);
      stack.pop();
      stack.at(-1)!.push(finished);
    } else if (action.startsWith("range ")) {
      const range = { range: path(action.slice("range ".length), template), body: [] };
      ranges.push(range);
      stack.push(range.body);
    } else stack.at(-1)!.push({ field: path(action, template) });
  }
  if (ranges.length > 0) throw new Error(`template: unexpected EOF in ${template}`);
  return stack[0]!;
}

function path(expression: string, template: string): string[] {
  if (expression === ".") return [];
  if (!/^(\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(expression))
    throw new Error(`template construct not modelled: {{${expression}}} in ${template}`);
  return expression.slice(1).split(".");
}

const noValue = Symbol("no value");

function lookup(data: unknown, keys: readonly string[]): unknown {
  let value: unknown = data;
  for (const key of keys) {
    if (typeof value !== "object" || value === null || !(key in value)) return noValue;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function print(value: unknown): string {
  if (value === noValue) return "<no value>";
  if (Array.isArray(value)) return `[${value.map(print).join(" ")}]`;
  if (value === null || value === undefined) return "<nil>";
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return String(value);
  throw new Error("printing a map is not modelled");
}

function render(nodes: readonly Node[], data: unknown): string {
  return nodes
    .map((node) => {
      if ("text" in node) return node.text;
      if ("field" in node) return print(lookup(data, node.field));
      const items = lookup(data, node.range);
      return Array.isArray(items) ? items.map((item) => render(node.body, item)).join("") : "";
    })
    .join("");
}

/** What `docker <object> inspect --format <template>` prints for one object (its inspect JSON). */
export function dockerFormat(template: string, object: unknown): string {
  return `${render(parse(template), object)}\n`;
}
