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

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Reads the files once every process that wrote one has either written its final one or is
 * gone — or `ms` have passed. The command's own process has ended by now, but its children
 * may not have: multiprocessing workers finish and write after their parent returned.
 */
export async function settleStacksDir(dir: string, ms: number): Promise<RawStacks[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const raws = readStacksDir(dir);
    const waiting = raws.filter((r) => !r.final && alive(r.pid));
    if (waiting.length === 0 || Date.now() >= deadline) return raws;
    await new Promise((r) => setTimeout(r, 50));
  }
}
