/** What the end-to-end suites share: fixtures, their marker lines, and a clean CLI environment. */
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";

export const FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));

/** Copies a fixture into `dir` (as `as`, default its own name); returns the name. */
export function fixture(dir: string, name: string, as = name): string {
  copyFileSync(join(FIXTURES, name), join(dir, as));
  return as;
}

/** The line of a fixture that carries the comment `# <tag>`. */
export function markerLine(name: string, tag: string): number {
  const lines = readFileSync(join(FIXTURES, name), "utf8").split("\n");
  const hits = lines.flatMap((l, i) => (l.trimEnd().endsWith(`# ${tag}`) ? [i + 1] : []));
  expect(hits, `marker ${tag} in ${name}`).toHaveLength(1);
  return hits[0] as number;
}

/** The test's environment without anything leaktrail or PYTHONPATH would pick up. */
export function cliEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONDONTWRITEBYTECODE: "1", PYTHONIOENCODING: "utf-8" };
  for (const k of Object.keys(env)) if (k.startsWith("LEAKTRAIL_")) delete env[k];
  delete env.PYTHONPATH;
  return env;
}
