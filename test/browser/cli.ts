/** Starts bin/leaktrail for the browser tests and reads what it prints. */
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { cliEnv } from "../e2e/helpers.js";

export const BIN = fileURLToPath(new URL("../../bin/leaktrail", import.meta.url));
/** The shared corpus of leaky programs, beside the checkout (../shared/corpus). */
export const CORPUS = fileURLToPath(new URL("../../../shared/corpus/", import.meta.url));

export interface Cli {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  /** Resolves with the first match of `re` in stdout + stderr, rejects after `ms`. */
  waitFor: (re: RegExp, ms: number) => Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

export function startCli(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}, guardMs = 90_000): Cli {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...cliEnv(), ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  const waiters = new Set<() => void>();
  child.stdout?.on("data", (b: Buffer) => {
    out += b.toString("utf8");
    for (const w of waiters) w();
  });
  child.stderr?.on("data", (b: Buffer) => {
    err += b.toString("utf8");
    for (const w of waiters) w();
  });
  const guard = setTimeout(() => child.kill("SIGKILL"), guardMs);
  const exited = new Promise<number | null>((res) => child.on("exit", (code) => (clearTimeout(guard), res(code))));
  const waitFor = (re: RegExp, ms: number) =>
    new Promise<RegExpMatchArray>((res, rej) => {
      const check = () => {
        const m = re.exec(out + err);
        if (m) {
          waiters.delete(check);
          clearTimeout(t);
          res(m);
        }
      };
      const t = setTimeout(() => {
        waiters.delete(check);
        rej(new Error(`no ${re} within ${ms} ms; stdout: ${out.slice(-500)}; stderr: ${err.slice(-500)}`));
      }, ms);
      waiters.add(check);
      check();
    });
  return { child, out: () => out, err: () => err, waitFor, exited };
}

/** A temporary copy of a corpus program (and its shared helper): the corpus folder may be read-only. */
export function corpusCopy(name: string): string {
  if (!existsSync(join(CORPUS, name))) throw new Error(`the corpus program ${join(CORPUS, name)} is missing (shared/ must sit beside the checkout)`);
  const dir = mkdtempSync(join(tmpdir(), "lt-browser-"));
  for (const f of [name, "_churn.py"]) if (existsSync(join(CORPUS, f))) copyFileSync(join(CORPUS, f), join(dir, f));
  return dir;
}
