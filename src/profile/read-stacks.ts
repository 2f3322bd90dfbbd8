import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isRawStacks, type RawStacks } from "./raw.js";

/** The sampler files in `dir` (one per process); torn or foreign files are skipped. */
export function readStacksDir(dir: string): RawStacks[] {
  const out: RawStacks[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names.sort()) {
    if (!/^\d+\.json$/.test(name)) continue;
    try {
      const value: unknown = JSON.parse(readFileSync(join(dir, name), "utf8"));
      if (isRawStacks(value)) out.push(value);
    } catch {
      // written by os.replace, so never torn; a foreign file is not ours to read
    }
  }
  return out;
}
