import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The folder that holds `sitecustomize.py` and the `leaktrail` agent package. */
export function agentPythonDir(): string {
  // this file is dist/collect/agent-path.js (or src/collect/agent-path.ts under test)
  return resolve(join(dirname(fileURLToPath(import.meta.url)), "..", "..", "python"));
}

export function toolVersion(): string {
  return "0.1.0";
}
