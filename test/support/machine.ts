// A machine at the process boundary for tests (tools/machine.ts): Linux x64 on Node 22, with
// the programs `run` answers for, the files given, no directories to list, every port free.
import type { Machine } from "../../tools/machine.ts";

export function fakeMachine(run: Machine["run"], files: Readonly<Record<string, string>> = {}): Machine {
  return {
    platform: "linux",
    arch: "x64",
    nodeVersion: "v22.23.3",
    run,
    readFile: (file) => Promise.resolve(files[file]),
    listDirectory: () => Promise.resolve([]),
    portFree: () => Promise.resolve(true),
  };
}
