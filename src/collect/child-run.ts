/**
 * Runs a command with the given extra environment, its stdio passed through, and resolves
 * when it ended. Ctrl-C and SIGTERM sent to leaktrail reach the command (a terminal's Ctrl-C
 * reaches it by itself; leaktrail waits for it to end so that its results get written).
 * Used by `profile` and `lines`, which need no socket: the agent writes files.
 */
import { spawn } from "node:child_process";

export interface ChildResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The command could not be started (not found, not executable). */
  spawnError: string | null;
  /** The signal leaktrail itself received, if any. */
  stopSignal: NodeJS.Signals | null;
}

export function runChild(command: string[], env: NodeJS.ProcessEnv): Promise<ChildResult> {
  return new Promise((resolvePromise) => {
    const [file, ...args] = command;
    let stopSignal: NodeJS.Signals | null = null;
    let spawnError: string | null = null;
    const timers: NodeJS.Timeout[] = [];
    const child = spawn(file as string, args, { stdio: "inherit", env });
    const onSignal = (sig: NodeJS.Signals) => {
      if (stopSignal) {
        child.kill("SIGKILL");
        return;
      }
      stopSignal = sig;
      timers.push(setTimeout(() => child.kill(sig), 500));
      timers.push(setTimeout(() => child.kill("SIGKILL"), 10_000));
    };
    const done = (exitCode: number | null, signal: NodeJS.Signals | null) => {
      for (const t of timers) clearTimeout(t);
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      process.off("SIGHUP", onSignal);
      resolvePromise({ exitCode, signal, spawnError, stopSignal });
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    process.on("SIGHUP", onSignal);
    child.on("error", (err: NodeJS.ErrnoException) => {
      spawnError =
        err.code === "ENOENT"
          ? `command not found: ${file}`
          : err.code === "EACCES"
            ? `cannot execute ${file}: permission denied`
            : `cannot start ${file}: ${err.message}`;
      done(null, null);
    });
    child.on("exit", (code, signal) => done(code, signal));
  });
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };

/** The shell's exit status for a child's end: its code, or 128+N for signal N. */
export function childStatus(r: ChildResult): number {
  if (r.stopSignal) return 128 + (SIGNALS[r.stopSignal] ?? 1);
  if (r.exitCode !== null) return r.exitCode;
  return r.signal ? 128 + (SIGNALS[r.signal] ?? 1) : 1;
}
