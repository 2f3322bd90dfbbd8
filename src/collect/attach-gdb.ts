/**
 * Runs one line of Python inside a live CPython 3.9–3.13 process with gdb:
 * `PyGILState_Ensure()`, `PyRun_SimpleString(…)`, `PyGILState_Release(…)`, then detach.
 *
 * gdb is driven step by step over its stdin (each step ends with an `echo` of a marker we
 * wait for), so that every decision is taken on what gdb actually said.
 * The call happens at a safe point of the target's main thread, never wherever ptrace
 * happened to stop it:
 *
 * - at the first instruction of `PyEval_RestoreThread`: a thread coming back from a blocking
 *   call (sleep, I/O, a lock). It holds no GIL and no interpreter lock; Ensure takes the GIL
 *   the normal way.
 * - at the first instruction of `PyErr_CheckSignals`: the GIL is held and Python signal
 *   handlers (any Python code) may run here. We also queue it as a no-op pending call
 *   (`Py_AddPendingCall`), which the eval loop runs at its next check: this catches a main
 *   thread that computes without ever blocking.
 * - failing both for a while, the main thread is interrupted; if it does not hold the GIL and
 *   is not waiting for it (blocked in a system call for good: `Event.wait()`, `select`), the
 *   call goes ahead there, and the system call restarts afterwards.
 *
 * `errno` is saved and restored around the calls (the interrupted C code may read it next),
 * the code string lives in a buffer we malloc and free, and breakpoints are gone before any
 * call. gdb runs in a session of its own (a Ctrl-C at the terminal is not for it), under a
 * deadline: past it, gdb is interrupted (the call unwinds), then terminated, then killed.
 * If leaktrail dies, gdb reads EOF, quits and so detaches.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { AttachError, permissionHint } from "./attach-proc.js";

export interface GdbInjectOptions {
  gdb: string;
  pid: number;
  /** One line of Python for PyRun_SimpleString (no double quotes, no backslashes). */
  code: string;
  /** The whole injection, gdb's start to its exit. */
  deadlineMs?: number;
  /** How long to wait for the main thread to reach a safe point before looking closer. */
  safePointMs?: number;
  /** How many such waits before giving up. */
  rounds?: number;
  /** For uid hints in permission errors. */
  targetUid?: number | null;
  /** Receives gdb's whole transcript (LEAKTRAIL_DEBUG). */
  log?: (text: string) => void;
}

export interface GdbInjectResult {
  /** PyRun_SimpleString's return value: 0 ran, -1 raised. */
  status: number;
  /** Where in the target the code ran. */
  where: "PyEval_RestoreThread" | "PyErr_CheckSignals" | "blocked main thread";
}

const DEFAULT_DEADLINE_MS = 30_000;

class GdbTimeout extends Error {}
class GdbGone extends Error {}

/** One gdb process, fed a step at a time. */
class Gdb {
  private readonly child: ChildProcess;
  private text = "";
  private consumed = 0;
  private seq = 0;
  private exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly waiters = new Set<() => void>();
  readonly exit: Promise<void>;

  constructor(gdbPath: string, pid: number, private readonly log?: (text: string) => void) {
    // stderr joins stdout so that an error shows up before the marker that follows it
    this.child = spawn(
      "/bin/sh",
      [
        "-c",
        'exec "$@" 2>&1',
        "sh",
        gdbPath,
        "-nx",
        "-q",
        "-iex",
        "set pagination off",
        "-iex",
        "set height 0",
        "-iex",
        "set width 0",
        "-iex",
        "set confirm off",
        "-iex",
        "set auto-load python-scripts off",
        "-iex",
        "set auto-load gdb-scripts off",
        "-iex",
        "set debuginfod enabled off",
        "-iex",
        "set style enabled off",
        "-p",
        String(pid),
      ],
      {
        stdio: ["pipe", "pipe", "ignore"],
        detached: true,
        env: { ...process.env, LC_ALL: "C", LANG: "C", LANGUAGE: "C", DEBUGINFOD_URLS: "" },
      },
    );
    this.child.stdin?.on("error", () => {}); // EPIPE once gdb is gone
    this.child.stdout?.setEncoding("utf8");
    this.child.stdout?.on("data", (chunk: string) => {
      this.text += chunk;
      this.log?.(chunk);
      this.notify();
    });
    this.exit = new Promise((resolve) => {
      this.child.on("exit", (code, signal) => {
        this.exited = { code, signal };
        this.notify();
        resolve();
      });
      this.child.on("error", (err) => {
        this.text += `\nspawn error: ${err.message}\n`;
        this.exited = { code: 127, signal: null };
        this.notify();
        resolve();
      });
    });
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  get gone(): boolean {
    return this.exited !== null;
  }

  /** Everything gdb printed so far. */
  get transcript(): string {
    return this.text;
  }

  private write(lines: string[]): void {
    if (this.exited || !this.child.stdin?.writable) return;
    this.child.stdin.write(lines.join("\n") + "\n");
  }

  /**
   * Sends commands and resolves with what gdb printed for them. `slowMs`/`onSlow` fire once
   * if the step takes longer (used to interrupt a `continue`).
   */
  step(commands: string[], timeoutMs: number, slow?: { ms: number; action: () => void }): Promise<string> {
    const n = ++this.seq;
    const marker = `@@LT-${n}@@`;
    this.write([...commands, `echo \\n${marker}\\n`]);
    return new Promise<string>((resolve, reject) => {
      const timers: NodeJS.Timeout[] = [];
      const done = () => {
        for (const t of timers) clearTimeout(t);
        this.waiters.delete(check);
      };
      const check = () => {
        const at = this.text.indexOf(marker, this.consumed);
        if (at >= 0) {
          done();
          const out = this.text.slice(this.consumed, at);
          this.consumed = at + marker.length;
          resolve(out);
        } else if (this.exited) {
          done();
          const out = this.text.slice(this.consumed);
          this.consumed = this.text.length;
          reject(new GdbGone(out));
        }
      };
      this.waiters.add(check);
      timers.push(
        setTimeout(() => {
          done();
          reject(new GdbTimeout(this.text.slice(this.consumed)));
        }, Math.max(1, timeoutMs)),
      );
      if (slow) timers.push(setTimeout(slow.action, slow.ms));
      check();
    });
  }

  interrupt(): void {
    this.signal("SIGINT");
  }

  signal(sig: NodeJS.Signals): void {
    if (this.exited || this.child.pid === undefined) return;
    try {
      process.kill(this.child.pid, sig);
    } catch {
      // gone already
    }
  }

  private async waitExit(ms: number): Promise<boolean> {
    if (this.exited) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((r) => {
      timer = setTimeout(() => r(false), ms);
    });
    const ok = await Promise.race([this.exit.then(() => true), timeout]);
    clearTimeout(timer);
    return ok;
  }

  /** Detaches and quits; escalates to SIGTERM (gdb detaches on it too) and SIGKILL. */
  async close(graceMs = 5000): Promise<void> {
    this.write(["detach", "quit"]);
    this.child.stdin?.end();
    if (await this.waitExit(graceMs)) return;
    this.signal("SIGTERM");
    if (await this.waitExit(3000)) return;
    this.signal("SIGKILL");
    await this.waitExit(3000);
  }
}

/** The first line of gdb output that reads like an error, for messages. */
function gdbComplaint(text: string): string {
  const lines = text
    .split("\n")
    .map((l) => l.replace(/^(\(gdb\) )+/, "").trim())
    .filter((l) => l && !l.startsWith("@@"));
  const bad = lines.find((l) => /error|cannot|can't|not permitted|no such|not defined|failed|signal/i.test(l));
  return (bad ?? lines[lines.length - 1] ?? "gdb said nothing").slice(0, 200);
}

function value(text: string, name: string): number | null {
  const m = new RegExp(`@@V ${name}=(-?\\d+)`).exec(text);
  return m ? Number(m[1]) : null;
}

const CALL_FAILED = /The program being debugged (?:was signaled|stopped|exited) while in a function called from GDB|Cannot (?:access|insert) |Couldn't get registers|could not find|Invalid cast|has unknown return type/i;
const PROCESS_GONE = /\[Inferior \d+ \(process \d+\) exited|Program terminated with signal|The program is not being run|ptrace: No such process|No such process\./;
const NOT_PERMITTED = /ptrace: Operation not permitted|Could not attach to process|Operation not permitted/;
/** A backtrace frame that means the thread waits for the GIL (or some other condition). */
const GIL_WAIT = /\b(take_gil|PyEval_RestoreThread|PyEval_AcquireThread|PyEval_AcquireLock|PyGILState_Ensure|pthread_cond_(?:timed|clock)?wait|__pthread_cond_wait)/;

type Where = GdbInjectResult["where"];

/**
 * Injects `opts.code` into process `opts.pid` with gdb. Resolves once the code ran
 * (`status` is PyRun_SimpleString's result), rejects with an AttachError otherwise. In every
 * case gdb has detached and exited (or been killed) when this returns.
 */
export async function injectWithGdb(opts: GdbInjectOptions): Promise<GdbInjectResult> {
  const deadlineMs = opts.deadlineMs ?? DEFAULT_DEADLINE_MS;
  const deadline = Date.now() + deadlineMs;
  const left = () => Math.max(1, deadline - Date.now());
  const safePointMs = opts.safePointMs ?? 2000;
  const rounds = opts.rounds ?? 4;
  const gdb = new Gdb(opts.gdb, opts.pid, opts.log);
  const pid = opts.pid;
  const fail = (message: string, kind: "injection" | "permission" | "no-process" | "not-python" = "injection") => new AttachError(message, kind);
  const notPermitted = () =>
    fail(`no permission to trace process ${pid} (ptrace: Operation not permitted): ${permissionHint({ uid: opts.targetUid ?? null })}`, "permission");

  // errno of the main thread, kept across our calls (the code we stopped may read it next)
  const SAVE_ERRNO = ["set $lt_errno = -1", "set $lt_errno = *(int *)__errno_location()", 'printf "@@V errno=%d\\n", $lt_errno'];
  let restoreErrno: string[] = [];
  /** After a stop: breakpoints gone, thread 1 selected, errno saved. */
  const stopped = async (extra: string[] = []): Promise<string> => {
    const out = await gdb.step(["delete", "thread 1", ...SAVE_ERRNO, ...extra], left());
    if (PROCESS_GONE.test(out)) throw fail(`no such process: ${pid} exited while leaktrail was injecting`, "no-process");
    restoreErrno = (value(out, "errno") ?? -1) >= 0 ? ["set *(int *)__errno_location() = $lt_errno"] : [];
    return out;
  };

  try {
    // 1. attached?
    const setup = await gdb.step(
      ["set breakpoint pending off", "set unwindonsignal on", "set print elements 0", "handle all nostop noprint pass", "info program"],
      left(),
    );
    if (NOT_PERMITTED.test(setup)) throw notPermitted();
    if (/ptrace: No such process|No such process/.test(setup)) throw fail(`no such process: ${pid}`, "no-process");
    if (/is not being run/.test(setup)) throw fail(`gdb could not attach to process ${pid}: ${gdbComplaint(setup)}`);

    // 2. a no-op pending call: the main thread runs it at its next check in the eval loop,
    //    GIL held, where the breakpoint on it catches the thread (code that never blocks too)
    const first = await stopped(["bt 64"]);
    const pending = /make_pending_calls|_PyEval_AddPendingCall|Py_AddPendingCall|Py_MakePendingCalls/.test(first)
      ? [] // it is in the middle of pending calls itself: leave their lock alone
      : ["call (int)Py_AddPendingCall((void *)PyErr_CheckSignals, (void *)0)"];
    await gdb.step([...pending, ...restoreErrno], left());

    for (let round = 1; round <= rounds; round++) {
      // 3. wait for the main thread (gdb thread 1) to reach a safe point
      // (a stop names the breakpoint by number; the function name may be an inlined callee's)
      const numbers = new Map<string, Where>();
      for (const fn of ["PyEval_RestoreThread", "PyErr_CheckSignals"] as const) {
        const arm = await gdb.step([...(numbers.size === 0 ? ["delete"] : []), `tbreak *${fn} thread 1`], left());
        const n = /Temporary breakpoint (\d+) at/.exec(arm);
        if (n) numbers.set(n[1] as string, fn);
      }
      if (numbers.size === 0) {
        throw fail(`process ${pid} has no CPython interpreter that gdb can see (no symbol PyEval_RestoreThread); is it CPython 3.9 or newer?`, "not-python");
      }
      let interrupted = false;
      const stop = await gdb.step(["continue"], left(), {
        ms: safePointMs,
        action: () => {
          interrupted = true;
          gdb.interrupt();
        },
      });
      if (PROCESS_GONE.test(stop)) throw fail(`no such process: ${pid} exited while leaktrail was injecting`, "no-process");
      if (interrupted) await gdb.step(["echo"], left()); // a SIGINT that crossed the stop is spent here
      const hitNumber = /Temporary breakpoint (\d+), /.exec(stop)?.[1];
      const hit = hitNumber !== undefined ? numbers.get(hitNumber) : undefined;

      let where: Where;
      if (hit) {
        await stopped();
        where = hit;
      } else if (interrupted || /received signal SIGINT/.test(stop)) {
        // no safe point in time: is the main thread blocked (sleep, select, a lock) with the GIL released?
        const look = await stopped(["set $lt_held = -1", "set $lt_held = (int)PyGILState_Check()", 'printf "@@V held=%d\\n", $lt_held', "bt 64"]);
        if (value(look, "held") !== 0 || GIL_WAIT.test(look)) {
          await gdb.step(restoreErrno, left()); // busy with the GIL, or waiting for it: wait again
          continue;
        }
        where = "blocked main thread";
      } else {
        throw fail(`gdb stopped process ${pid} for an unexpected reason: ${gdbComplaint(stop)}`);
      }

      // 4. take the GIL; a pending exception is no place for us
      const gil = await gdb.step(
        [
          "set $lt_g = -1",
          "set $lt_g = (int)PyGILState_Ensure()",
          "set $lt_exc = -1",
          "set $lt_exc = (long)PyErr_Occurred()",
          'printf "@@V gil=%d\\n", $lt_g',
          'printf "@@V exc=%ld\\n", $lt_exc',
        ],
        left(),
      );
      const g = value(gil, "gil");
      if (CALL_FAILED.test(gil) || g === null || g === -1) {
        throw fail(`could not take the GIL in process ${pid} (PyGILState_Ensure failed: ${gdbComplaint(gil)})`);
      }
      if (value(gil, "exc") !== 0) {
        await gdb.step(["call (void)PyGILState_Release($lt_g)", ...restoreErrno], left());
        continue;
      }

      // 5. run the code from a buffer of our own, then give everything back
      const size = Buffer.byteLength(opts.code, "utf8") + 1;
      const buf = await gdb.step(["set $lt_s = (char *)0", `set $lt_s = (char *)malloc(${size})`, 'printf "@@V buf=%lu\\n", (unsigned long)$lt_s'], left());
      if (!value(buf, "buf")) {
        await gdb.step(["call (void)PyGILState_Release($lt_g)", ...restoreErrno], left());
        throw fail(`could not allocate ${size} bytes in process ${pid} (${gdbComplaint(buf)})`);
      }
      const run = await gdb.step(
        [
          `set {char[${size}]} $lt_s = "${opts.code}"`,
          "set $lt_r = -999",
          "set $lt_r = (int)PyRun_SimpleString($lt_s)",
          "call (void)free($lt_s)",
          "call (void)PyGILState_Release($lt_g)",
          ...restoreErrno,
          'printf "@@V run=%d\\n", $lt_r',
        ],
        left(),
      );
      const status = value(run, "run");
      if (CALL_FAILED.test(run) || status === null || status === -999) {
        throw fail(`the injected code did not run in process ${pid}: ${gdbComplaint(run)}`);
      }
      return { status, where };
    }
    throw fail(
      `process ${pid}'s main thread never reached a point where leaktrail can inject safely (it kept the GIL, or waited for it, for ${Math.round((rounds * safePointMs) / 1000)} s); try again`,
    );
  } catch (err) {
    if (err instanceof AttachError) throw err;
    if (err instanceof GdbTimeout) {
      gdb.interrupt(); // a call in progress unwinds (unwindonsignal)
      throw fail(`gdb did not finish within ${Math.round(deadlineMs / 1000)} s and was stopped; process ${pid} may need a look`);
    }
    if (err instanceof GdbGone) {
      if (NOT_PERMITTED.test(gdb.transcript)) throw notPermitted();
      throw fail(`gdb ended unexpectedly while attached to process ${pid}: ${gdbComplaint(gdb.transcript)}`);
    }
    throw err;
  } finally {
    await gdb.close();
  }
}
