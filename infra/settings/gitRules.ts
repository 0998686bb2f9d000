// The rules of the systems a Git setting ends up in: git's own branch names (git
// check-ref-format --branch), OpenSSH's known_hosts lines, and URLs without credentials.
import { createHmac } from "node:crypto";

/**
 * Why git would refuse `name` as a branch (git check-ref-format --branch, and `git branch`,
 * which refuses a leading '-' and HEAD); undefined when it takes it.
 */
export function branchProblem(name: string): string | undefined {
  const why = (reason: string) => `must be a branch name git accepts: ${reason}`;
  if (name === "") return why("not empty");
  if (name === "@" || name === "HEAD") return why(`not ${name}`);
  if (name.startsWith("-")) return why("no leading '-'");
  // Control characters, space and ~ ^ : ? * [ \ are never allowed (refs.c: bad_ref_char).
  if ([...name].some((char) => char.charCodeAt(0) <= 0x20 || char.charCodeAt(0) === 0x7f || "~^:?*[\\".includes(char))) {
    return why("no spaces or ~ ^ : ? * [ \\ or control characters");
  }
  if (name.includes("..")) return why("no '..'");
  if (name.includes("@{")) return why("no '@{'");
  if (name.startsWith("/") || name.endsWith("/") || name.includes("//")) return why("no leading, trailing or double '/'");
  if (name.endsWith(".")) return why("no trailing '.'");
  const components = name.split("/");
  if (components.some((part) => part.startsWith("."))) return why("no part starting with '.'");
  if (components.some((part) => part.endsWith(".lock"))) return why("no part ending in '.lock'");
  return undefined;
}

const keyTypes = new Set([
  "ssh-ed25519",
  "ssh-rsa",
  "ssh-dss",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com",
]);

/** Whether a known_hosts host pattern (`*` and `?` wildcards, `[host]:port`, hashed `|1|salt|hash`) names `entry`. */
function patternMatches(pattern: string, entry: string): boolean {
  if (pattern.startsWith("|1|")) {
    const [, , salt = "", hash = ""] = pattern.split("|");
    return createHmac("sha1", Buffer.from(salt, "base64")).update(entry).digest("base64") === hash;
  }
  const glob = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
    "i",
  );
  return glob.test(entry);
}

/**
 * What is wrong with known_hosts text for `host` (and `port`, when not 22): each line must be
 * `[marker] hosts keytype key [comment]` with a key of its type, and one line must name the host.
 * Problems name lines by number; keys are public, but lines are not quoted.
 */
export function knownHostsProblems(text: string, host: string, port?: number): string[] {
  const problems: string[] = [];
  const entry = port === undefined || port === 22 ? host : `[${host}]:${port}`;
  let covered = false;
  text.split("\n").forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const fields = line.split(/\s+/);
    if (fields[0]?.startsWith("@")) {
      if (fields[0] !== "@cert-authority" && fields[0] !== "@revoked") problems.push(`line ${index + 1}: unknown marker ${fields[0]}`);
      fields.shift();
    }
    const [hosts, type, key] = fields;
    if (hosts === undefined || type === undefined || key === undefined) {
      problems.push(`line ${index + 1}: must be "host keytype key", as ssh-keyscan prints it`);
      return;
    }
    if (!keyTypes.has(type)) {
      problems.push(`line ${index + 1}: unknown key type ${type}`);
      return;
    }
    const blob = Buffer.from(key, "base64");
    const length = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
    if (!/^[A-Za-z0-9+/]+=*$/.test(key) || length <= 0 || blob.subarray(4, 4 + length).toString() !== type) {
      problems.push(`line ${index + 1}: the key is not a ${type} key`);
      return;
    }
    const patterns = hosts.split(",");
    if (
      patterns.some((pattern) => !pattern.startsWith("!") && patternMatches(pattern, entry)) &&
      !patterns.some((pattern) => pattern.startsWith("!") && patternMatches(pattern.slice(1), entry))
    ) {
      covered = true;
    }
  });
  if (problems.length === 0 && !covered)
    problems.push(`no line is for ${entry} (ssh-keyscan${port && port !== 22 ? ` -p ${port}` : ""} ${host})`);
  return problems;
}
