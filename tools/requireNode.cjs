// Loaded first by every npm script (`node --require ./tools/requireNode.cjs ...`): on a Node.js
// older than package.json's engines.node, one line naming the version needed, instead of the
// stack trace an older Node prints at the first TypeScript file (type stripping: 22.18) or at
// undici's import (22.19). Plain CommonJS without dependencies and without newer syntax, so
// that any Node.js runs it. doctor's node check reads the same floor (tools/preflight.ts).
// On a Node that will do, it turns on Node's compile cache (in the system's temporary folder):
// the tools load the Pulumi SDK's hundreds of files about a fifth faster from the second run on.
"use strict";
const fs = require("fs");
const path = require("path");

/** package.json's engines.node, which must read ">=X.Y.Z": the one statement of the floor. @returns {string} */
function nodeFloor() {
  const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "package.json"), "utf8"));
  const match = /^>=(\d+)\.(\d+)\.(\d+)$/.exec(manifest.engines.node);
  if (!match) throw new Error(`package.json engines.node must read ">=X.Y.Z", not ${JSON.stringify(manifest.engines.node)}`);
  return match.slice(1).join(".");
}

/**
 * Whether a version ("22.19.0" or "v22.19.0") is at least `floor` ("X.Y.Z").
 * @param {string} version
 * @param {string} floor
 * @returns {boolean}
 */
function meetsFloor(version, floor) {
  const have = version.replace(/^v/, "").split(".").map(Number);
  const need = floor.split(".").map(Number);
  for (let index = 0; index < 3; index++) {
    if ((have[index] || 0) !== need[index]) return (have[index] || 0) > need[index];
  }
  return true;
}

exports.nodeFloor = nodeFloor;
exports.meetsFloor = meetsFloor;

const floor = nodeFloor();
if (!meetsFloor(process.versions.node, floor)) {
  process.stderr.write(
    "gitops: Node.js " + floor + " or newer is needed; this is " + process.version + " (https://nodejs.org/en/download)\n",
  );
  process.exit(1);
}
require("module").enableCompileCache();
