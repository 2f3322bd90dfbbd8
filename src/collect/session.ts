import { spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CaptureRecord, HeapGraphMode, TraceMode } from "../capture/format.js";
import { CaptureWriter } from "../capture/writer.js";
import { ModelBuilder, type CaptureModel } from "../analysis/model.js";
import { agentPythonDir, toolVersion } from "./agent-path.js";
import { readAgentRecords, recordKeeper } from "./agent-records.js";
import { GRAPH_WAIT_SECONDS, GraphWalks } from "./graph-walks.js";
import { makeSocketDir } from "./socket-dir.js";

export interface SessionOptions {
  command: string[];
  capturePath: string;
  /** tracemalloc frames per traceback. */
  frames: number;
  /** Seconds between cheap samples. */
  interval: number;
  /** tracemalloc for the whole run, in short windows, or the one while cheap, then the other. */
  trace?: TraceMode;
  /** When heap graphs are taken. */
  heapGraphs?: HeapGraphMode;
  /** Keep str and bytes contents in heap graphs. */
  heapValues?: boolean;
  /** Called for every record, as it arrives (the live status line). */
  onRecord?: (record: CaptureRecord) => void;
  /** Called once the run starts, with a way to see the model as it stands (live verdicts). */
  onStart?: (snapshot: () => CaptureModel) => void;
}

export interface SessionResult {
  model: CaptureModel;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Set when leaktrail itself stopped the run (Ctrl-C). */
  stopped: string | null;
  /** The signal that stopped it. */
  stopSignal: NodeJS.Signals | null;
  /** The command could not be started (not found, not executable). */
  spawnError: string | null;
  agentsSeen: number;
}

/** Seconds to keep listening after the command ends, for agents' last words. */
const DRAIN_SECONDS = 3;

/**
 * Runs one command with the agent injected, writing every record to the capture as it
 * arrives. Resolves when the command has ended and its agents have said goodbye (or gone).
 */
export function runSession(opts: SessionOptions): Promise<SessionResult> {
  const socketDir = makeSocketDir(tmpdir());
  const socketPath = join(socketDir, "agent.sock");
  const cwd = process.cwd();
  const header = { created: Date.now() / 1000, command: opts.command, cwd, tool_version: toolVersion() };
  const writer = new CaptureWriter(opts.capturePath, header);
  const builder = new ModelBuilder({ schema: "leaktrail.capture/1", ...header });
  const sockets = new Set<Socket>();
  const walks = new GraphWalks();
  let agentsSeen = 0;
  const keep = recordKeeper(writer, builder);

  const accept = (record: CaptureRecord, line: string) => {
    keep(record, line);
    opts.onRecord?.(record);
  };

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    agentsSeen++;
    readAgentRecords(socket, (record, line) => {
      walks.see(socket, record);
      accept(record, line);
    });
    const forget = () => {
      sockets.delete(socket);
      walks.forget(socket);
    };
    socket.on("close", forget);
    socket.on("error", forget);
  });

  return new Promise<SessionResult>((resolvePromise) => {
    let child: ChildProcess | null = null;
    let stopped: string | null = null;
    let stopSignal: NodeJS.Signals | null = null;
    let spawnError: string | null = null;
    let finished = false;
    let hurry = false;
    const timers: NodeJS.Timeout[] = [];

    const finish = (exitCode: number | null, signal: NodeJS.Signals | null) => {
      if (finished) return;
      finished = true;
      const end: CaptureRecord = { k: "child-exit", t: Date.now() / 1000, code: exitCode, signal };
      writer.append(end);
      builder.add(end);
      const closeAll = () => {
        for (const t of timers) clearTimeout(t);
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
        process.off("SIGHUP", onSignal);
        for (const s of sockets) s.destroy();
        server.close();
        writer.close();
        rmSync(socketDir, { recursive: true, force: true });
        resolvePromise({ model: builder.build(), exitCode, signal, stopped, stopSignal, spawnError, agentsSeen });
      };
      // Agents of processes that outlive the command (daemons) are not waited for long;
      // heap graphs being walked are, unless Ctrl-C says not to.
      const deadline = Date.now() + DRAIN_SECONDS * 1000;
      const graphDeadline = Date.now() + GRAPH_WAIT_SECONDS * 1000;
      const poll = () => {
        const now = Date.now();
        const waitForGraph = walks.pending && now < graphDeadline && !hurry;
        if (sockets.size === 0 || (now > deadline && !waitForGraph)) closeAll();
        else timers.push(setTimeout(poll, 25));
      };
      poll();
    };

    const onSignal = (sig: NodeJS.Signals) => {
      if (!stopped) {
        stopped = sig === "SIGINT" ? "interrupted (Ctrl-C)" : `stopped by ${sig}`;
        stopSignal = sig;
        const rec: CaptureRecord = { k: "cli-stop", t: Date.now() / 1000, reason: stopped };
        writer.append(rec);
        builder.add(rec);
        // A Ctrl-C at a terminal reaches the child too; give it a moment to end by itself.
        timers.push(setTimeout(() => child?.kill(sig), 500));
        timers.push(setTimeout(() => child?.kill("SIGTERM"), 5000));
        timers.push(setTimeout(() => child?.kill("SIGKILL"), 10000));
      } else {
        hurry = true;
        child?.kill("SIGKILL");
      }
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    process.on("SIGHUP", onSignal);

    server.listen(socketPath, () => {
      opts.onStart?.(() => builder.build());
      const pythonDir = agentPythonDir();
      const env = {
        ...process.env,
        PYTHONPATH: [pythonDir, process.env.PYTHONPATH].filter(Boolean).join(":"),
        LEAKTRAIL_SOCKET: socketPath,
        LEAKTRAIL_FRAMES: String(opts.frames),
        LEAKTRAIL_INTERVAL: String(opts.interval),
        LEAKTRAIL_TRACE: opts.trace ?? "auto",
        LEAKTRAIL_HEAP_GRAPH: opts.heapGraphs ?? "auto",
        LEAKTRAIL_HEAP_VALUES: opts.heapValues ? "1" : "",
      };
      const [file, ...args] = opts.command;
      child = spawn(file as string, args, { stdio: "inherit", env });
      child.on("error", (err: NodeJS.ErrnoException) => {
        spawnError =
          err.code === "ENOENT"
            ? `command not found: ${file}`
            : err.code === "EACCES"
              ? `cannot execute ${file}: permission denied`
              : `cannot start ${file}: ${err.message}`;
        finish(null, null);
      });
      child.on("exit", (code, signal) => finish(code, signal));
    });
  });
}
