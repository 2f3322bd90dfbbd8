import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

/**
 * The folder for one run's agent socket, named after the CLI's pid so that a later run can
 * tell a folder left by a CLI that was killed (SIGKILL runs no cleanup) from a live one's.
 */
export function makeSocketDir(base: string): string {
  removeStaleSocketDirs(base);
  return mkdtempSync(join(base, `leaktrail-${process.pid}-`));
}

const SOCKET_DIR = /^leaktrail-(\d+)-[A-Za-z0-9]{6}$/;

/** Removes socket folders whose CLI is gone. Never throws: tidying is best effort. */
export function removeStaleSocketDirs(base: string): void {
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return;
  }
  for (const name of names) {
    const m = SOCKET_DIR.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || isAlive(pid)) continue;
    const path = join(base, name);
    try {
      // only leaktrail makes folders by this name (its pid, then mkdtemp's six characters)
      if (statSync(path).isDirectory()) rmSync(path, { recursive: true, force: true });
    } catch {
      // another run removed it, or it is not ours to remove
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"; // alive, someone else's
  }
}
