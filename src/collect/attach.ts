/**
 * `leaktrail attach PID`: put the agent into a running CPython process, collect its records
 * for a while, take the agent out again, and hand back the model — without restarting the
 * process and leaving it as it was (no agent thread, tracemalloc as before, no sys.path entry,
 * no files of ours).
 *
 * The listening socket and the capture work as in `run` (session.ts); only how the agent
 * gets in differs: gdb on CPython 3.9–3.13 (attach-gdb.ts), `sys.remote_exec` on 3.14+
 * (attach-remote.ts). The code that runs inside the target is in attach-code.ts.
 */
import { chmodSync, chownSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CaptureRecord } from "../capture/format.js";
import { CaptureWriter } from "../capture/writer.js";
import { ModelBuilder, type CaptureModel } from "../analysis/model.js";
import { agentPythonDir, toolVersion } from "./agent-path.js";
import { makeSocketDir } from "./socket-dir.js";
import { GRAPH_WAIT_SECONDS, GraphWalks } from "./graph-walks.js";
import { readAgentRecords, recordKeeper } from "./agent-records.js";
import { attachSource, detachSource, execString, readStatus, type InjectStatus } from "./attach-code.js";
import { injectWithGdb } from "./attach-gdb.js";
import {
  AttachError,
  findOnPath,
  formatVersion,
  injectionMethod,
  inspectTarget,
  processAlive,
  remoteExecPython,
  sameMountNamespace,
  type TargetInfo,
} from "./attach-proc.js";
import { injectWithRemoteExec } from "./attach-remote.js";

export interface AttachOptions {
  pid: number;
  capturePath: string;
  /** tracemalloc frames per traceback (0: no tracemalloc). */
  frames: number;
  /** Seconds between cheap samples. */
  interval: number;
  /** tracemalloc mode, "full" or "windows"; undefined leaves the agent's default. */
  trace?: string;
  /** Seconds to collect before detaching. */
  durationS: number;
  onRecord?: (record: CaptureRecord) => void;
  /** Progress for the user ("attached to …", "detaching …"). */
  onNote?: (message: string) => void;
  /** gdb's transcript and other details, for LEAKTRAIL_DEBUG. */
  onDebug?: (text: string) => void;
  /** Overrides for tests and slow machines. */
  gdbDeadlineMs?: number;
}

export type AttachEnd = "duration" | "signal" | "process-exited" | "agent-disconnected";

export interface AttachResult {
  model: CaptureModel;
  target: TargetInfo;
  method: "gdb" | "remote-exec";
  ended: AttachEnd;
  /** Set when a signal (Ctrl-C) ended the collection early. */
  stopped: string | null;
  /** The process was still running at the end and the agent was taken out of it. */
  detached: boolean;
  /** Why the agent could not be taken out (the process runs on with it), else null. */
  detachError: string | null;
  /** What the detach code saw in the target afterwards. */
  detachStatus: InjectStatus | null;
  /** The process was not left quite as it was found (the agent misbehaved). */
  warnings: string[];
}

/** Seconds to wait for the agent's goodbye after detach (or after the process ended). */
const DRAIN_SECONDS = 5;
const HELLO_SECONDS = 10;

export interface Injector {
  method: "gdb" | "remote-exec";
  /** Runs `source` in the target; resolves with its status (null when it wrote none). */
  run(source: string, statusPath: string, scriptName: string): Promise<InjectStatus | null>;
}

export function makeInjector(target: TargetInfo, socketDir: string, opts: AttachOptions): Injector {
  const method = injectionMethod(target.version);
  if (method === "remote-exec") {
    const python = remoteExecPython(target);
    if (!python) {
      throw new AttachError(
        `process ${target.pid} runs Python ${formatVersion(target.version!)}, which leaktrail enters with sys.remote_exec, but no python${formatVersion(target.version!)} executable was found to call it (put one on PATH)`,
        "other",
      );
    }
    return {
      method,
      async run(source, statusPath, scriptName) {
        const scriptPath = join(socketDir, scriptName);
        writeFileSync(scriptPath, source, { mode: 0o644 });
        shareWithTarget(scriptPath, target);
        return injectWithRemoteExec({ python, pid: target.pid, scriptPath, statusPath, targetUid: target.uid });
      },
    };
  }
  const gdb = findOnPath("gdb");
  if (!gdb) {
    const v = target.version ? `Python ${formatVersion(target.version)}` : "this Python";
    throw new AttachError(`gdb is needed to attach to ${v} and was not found on PATH: install gdb (e.g. 'apt-get install gdb') and try again`, "no-gdb");
  }
  return {
    method,
    async run(source, statusPath) {
      const result = await injectWithGdb({
        gdb,
        pid: target.pid,
        code: execString(source),
        targetUid: target.uid,
        deadlineMs: opts.gdbDeadlineMs,
        log: opts.onDebug,
      });
      opts.onDebug?.(`\n[leaktrail] PyRun_SimpleString returned ${result.status} (at ${result.where})\n`);
      const status = readStatus(statusPath);
      if (result.status !== 0) {
        const detail = status?.error ? `: ${status.error}` : "";
        throw new AttachError(`the code leaktrail injected into process ${target.pid} failed (PyRun_SimpleString returned ${result.status})${detail}`, "injection");
      }
      return status;
    },
  };
}

/** A target running as another user (we are root) must reach the socket and read our files. */
export function shareWithTarget(path: string, target: TargetInfo): void {
  const me = process.getuid?.();
  if (me === undefined || target.uid === null || target.uid === me) return;
  try {
    if (me === 0) chownSync(path, target.uid, target.gid ?? -1);
    else chmodSync(path, 0o777);
  } catch {
    // best effort: a failed connection will say so
  }
}

export async function attachSession(opts: AttachOptions): Promise<AttachResult> {
  const pid = opts.pid;
  const target = inspectTarget(pid);
  if (!sameMountNamespace(pid)) {
    throw new AttachError(
      `process ${pid} lives in another mount namespace (a container?): it cannot see leaktrail's files and socket; run leaktrail inside the same container`,
      "other",
    );
  }
  // a Unix socket path must stay under ~104 bytes
  const base = join(tmpdir(), `leaktrail-${process.pid}-XXXXXX`, "agent.sock").length <= 100 ? tmpdir() : "/tmp";
  const socketDir = makeSocketDir(base);
  try {
    const injector = makeInjector(target, socketDir, opts);
    return await collect(opts, target, injector, socketDir);
  } finally {
    rmSync(socketDir, { recursive: true, force: true });
  }
}

async function collect(opts: AttachOptions, target: TargetInfo, injector: Injector, socketDir: string): Promise<AttachResult> {
  const pid = opts.pid;
  const socketPath = join(socketDir, "agent.sock");
  const agentDir = agentPythonDir();
  shareWithTarget(socketDir, target);

  const header = { created: Date.now() / 1000, command: ["attach", String(pid)], cwd: process.cwd(), tool_version: toolVersion() };
  const writer = new CaptureWriter(opts.capturePath, header);
  const builder = new ModelBuilder({ schema: "leaktrail.capture/1", ...header });
  const keep = recordKeeper(writer, builder);
  const sockets = new Set<Socket>();
  const walks = new GraphWalks();
  let helloSeen = false;
  let byeSeen = false;
  const wake = new Set<() => void>();
  const notify = () => {
    for (const w of [...wake]) w();
  };

  const accept = (record: CaptureRecord, line: string) => {
    keep(record, line);
    if (record.k === "hello" && record.pid === pid) helloSeen = true;
    if (record.k === "bye" && record.pid === pid) byeSeen = true;
    opts.onRecord?.(record);
    if (record.k === "hello" || record.k === "bye") notify();
  };

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    readAgentRecords(socket, (record, line) => {
      walks.see(socket, record);
      accept(record, line);
    });
    const forget = () => {
      sockets.delete(socket);
      walks.forget(socket);
      notify();
    };
    socket.on("close", forget);
    socket.on("error", forget);
  });

  let stopped: string | null = null;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopped) {
      opts.onNote?.(`still detaching from process ${pid}; it takes at most a few seconds more`);
      return;
    }
    stopped = sig === "SIGINT" ? "interrupted (Ctrl-C)" : `stopped by ${sig}`;
    const rec: CaptureRecord = { k: "cli-stop", t: Date.now() / 1000, reason: stopped };
    writer.append(rec);
    builder.add(rec);
    notify();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("SIGHUP", onSignal);

  /** Resolves when `cond` holds (checked on every record, socket change and tick) or after `ms`. */
  const until = (cond: () => boolean, ms: number, tickMs = 200): Promise<boolean> =>
    new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      let tick: NodeJS.Timeout | undefined;
      const finish = (v: boolean) => {
        clearTimeout(timer);
        clearInterval(tick);
        wake.delete(check);
        resolve(v);
      };
      const check = () => {
        if (cond()) finish(true);
      };
      wake.add(check);
      timer = setTimeout(() => finish(cond()), ms);
      tick = setInterval(check, tickMs);
      check();
    });

  let injected = false;
  let detachError: string | null = null;
  let detachStatus: InjectStatus | null = null;
  let detached = false;
  const warnings: string[] = [];
  let ended: AttachEnd = "duration";
  let closed = false;
  const closeAll = () => {
    if (closed) return;
    closed = true;
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.off("SIGHUP", onSignal);
    for (const s of sockets) s.destroy();
    server.close();
    writer.close();
  };

  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(socketPath, () => resolve());
    });
    shareWithTarget(socketPath, target);

    // 1. in
    const statusPath = join(socketDir, "attach-status.json");
    const source = attachSource({ agentDir, socketPath, statusPath, frames: opts.frames, interval: opts.interval, trace: opts.trace });
    let status: InjectStatus | null;
    try {
      status = await injector.run(source, statusPath, "attach.py");
    } catch (err) {
      if (err instanceof AttachError && err.kind === "no-process") throw err;
      // the code may have run in part: never leave an agent behind
      if (helloSeen || readStatus(statusPath)?.ok) await detachQuietly();
      throw err;
    }
    if (status && !status.ok) {
      throw new AttachError(`the agent did not start in process ${pid}: ${status.error ?? "no reason given"}`, "injection");
    }
    if (!(await until(() => helloSeen, HELLO_SECONDS * 1000))) {
      await detachQuietly();
      throw new AttachError(`the agent started in process ${pid} but never connected to leaktrail's socket ${socketPath}`, "injection");
    }
    injected = true;
    const tracingBefore = status?.tracing_before;
    const pyv = status?.python ? `Python ${status.python}` : target.version ? `Python ${formatVersion(target.version)}` : "Python";
    opts.onNote?.(
      `attached to process ${pid} (${pyv}, ${target.exe}) with ${injector.method === "gdb" ? "gdb" : "sys.remote_exec"}; collecting for ${opts.durationS} s (Ctrl-C stops early)`,
    );

    // 2. collect
    const deadline = Date.now() + opts.durationS * 1000;
    const why = (): AttachEnd | null => {
      if (stopped) return "signal";
      if (!processAlive(pid) || byeSeen) return "process-exited"; // a goodbye comes from atexit
      if (sockets.size === 0) return "agent-disconnected";
      if (Date.now() >= deadline) return "duration";
      return null;
    };
    await until(() => why() !== null, opts.durationS * 1000 + 1000);
    ended = why() ?? "duration";
    if (ended === "process-exited" && byeSeen) await until(() => !processAlive(pid), 2000, 50);

    // 3. out: unless the process is ending (its agent said goodbye from atexit)
    if (processAlive(pid) && !byeSeen) {
      opts.onNote?.(`detaching from process ${pid}`);
      const d = await detach();
      detachStatus = d.status;
      detachError = d.error;
      detached = d.error === null;
      if (d.status?.agent_thread_alive) warnings.push(`the agent's thread in process ${pid} had not ended when detach returned (it ends by itself, quietly)`);
      if (d.status?.tracing_after && tracingBefore === false) warnings.push(`tracemalloc is still on in process ${pid}, although it was off before leaktrail attached`);
    }
    // the agent's goodbye, and the socket closing behind it; a heap graph being walked
    await until(() => sockets.size === 0, DRAIN_SECONDS * 1000, 50);
    await until(() => !walks.pending || stopped !== null, GRAPH_WAIT_SECONDS * 1000, 100);
    closeAll();
    return { model: builder.build(), target, method: injector.method, ended, stopped, detached, detachError, detachStatus, warnings };
  } catch (err) {
    closeAll();
    if (!injected) rmSync(opts.capturePath, { force: true }); // it holds nothing but its header
    throw err;
  } finally {
    closeAll();
  }

  async function detach(): Promise<{ status: InjectStatus | null; error: string | null }> {
    const statusPath = join(socketDir, "detach-status.json");
    const source = detachSource({ agentDir, statusPath });
    let lastError = "";
    for (let attempt = 1; attempt <= 3; attempt++) {
      if (!processAlive(pid)) return { status: null, error: null };
      try {
        const status = await injector.run(source, statusPath, "detach.py");
        if (status && !status.ok) return { status, error: status.error ?? "the agent did not stop" };
        return { status, error: null };
      } catch (err) {
        if (!processAlive(pid)) return { status: null, error: null };
        lastError = err instanceof Error ? err.message : String(err);
        if (!(err instanceof AttachError) || err.kind === "permission" || err.kind === "no-gdb") break;
      }
    }
    return { status: null, error: lastError };
  }

  async function detachQuietly(): Promise<void> {
    try {
      await detach();
    } catch {
      // reported by the caller's own error
    }
  }
}
