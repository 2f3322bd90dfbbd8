/**
 * The Python that `leaktrail attach` runs inside its target: one function that starts the
 * agent, one that detaches it. Both run in a namespace of their own (never the target's
 * `__main__`), never raise, print nothing, and leave `sys.path` as they found it; they tell
 * the CLI how it went in a small JSON status file.
 */
import { readFileSync } from "node:fs";

export interface AttachCodeOptions {
  agentDir: string;
  socketPath: string;
  statusPath: string;
  frames: number;
  interval: number;
  /** "full" or "windows"; undefined leaves the agent's default. */
  trace?: string;
}

export interface DetachCodeOptions {
  agentDir: string;
  statusPath: string;
}

/** What the injected code reports back. */
export interface InjectStatus {
  ok: boolean;
  error?: string;
  python?: string;
  tracing_before?: boolean;
  tracing_after?: boolean;
  agent_thread_alive?: boolean;
  threads?: string[];
  already?: boolean;
}

/** A Python literal for a JS string or number (JSON's escapes are a subset of Python's). */
function py(value: string | number): string {
  return JSON.stringify(value);
}

const COMMON = String.raw`
def _leaktrail_status(path, status):
    try:
        import json, os
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(status, f)
        os.replace(tmp, path)
    except BaseException:
        pass


def _leaktrail_reraise(exc):
    # A Ctrl-C that reached the target while our code ran belongs to the program.
    if isinstance(exc, KeyboardInterrupt):
        try:
            import _thread
            _thread.interrupt_main()
        except BaseException:
            pass


def _leaktrail_unpath(sys, agent_dir):
    while agent_dir in sys.path:
        try:
            sys.path.remove(agent_dir)
        except ValueError:
            break
`;

const ATTACH = String.raw`
def _leaktrail_attach(agent_dir, socket_path, status_path, frames, interval, trace):
    import sys
    status = {"ok": False}
    added = agent_dir not in sys.path
    try:
        import os
        if not os.path.exists(socket_path):
            # leaktrail gave up waiting and went away; a late run must do nothing
            status["error"] = "leaktrail's socket is gone"
            return
        import tracemalloc
        status["python"] = ".".join(str(v) for v in sys.version_info[:3])
        status["tracing_before"] = tracemalloc.is_tracing()
        if added:
            sys.path.insert(0, agent_dir)
        try:
            import leaktrail.agent as agent
        finally:
            # the package keeps its own __path__: the agent needs no sys.path entry to run
            if added:
                _leaktrail_unpath(sys, agent_dir)
        running = getattr(agent, "_agent", None)
        if running is not None and not getattr(running, "_detached", False):
            status["already"] = True
            status["error"] = "a leaktrail agent already runs in this process (started by 'leaktrail run', or by another attach)"
            return
        options = {"frames": frames, "interval": interval}
        if trace is not None:
            options["trace"] = trace
        status["ok"] = bool(agent.start(socket_path, **options))
        if not status["ok"]:
            status["error"] = "the agent did not start (could it connect to leaktrail's socket?)"
    except BaseException as exc:
        status["ok"] = False
        status["error"] = "%s: %s" % (type(exc).__name__, exc)
        _leaktrail_reraise(exc)
    finally:
        _leaktrail_status(status_path, status)
`;

const DETACH = String.raw`
def _leaktrail_detach(agent_dir, status_path):
    import sys
    status = {"ok": False}
    try:
        agent = sys.modules.get("leaktrail.agent")
        running = getattr(agent, "_agent", None) if agent is not None else None
        thread = getattr(running, "_thread", None)
        if running is None:
            status["error"] = "no leaktrail agent runs in this process"
        else:
            status["ok"] = bool(agent.detach(timeout=5.0))
        import threading, tracemalloc
        status["agent_thread_alive"] = bool(thread is not None and thread.is_alive())
        status["tracing_after"] = tracemalloc.is_tracing()
        status["threads"] = [t.name for t in threading.enumerate()]
    except BaseException as exc:
        status["ok"] = False
        status["error"] = "%s: %s" % (type(exc).__name__, exc)
        _leaktrail_reraise(exc)
    finally:
        _leaktrail_unpath(sys, agent_dir)
        _leaktrail_status(status_path, status)
`;

/** Python source that starts the agent (run as a file by sys.remote_exec, or through {@link execString}). */
export function attachSource(o: AttachCodeOptions): string {
  return `${COMMON}${ATTACH}\n_leaktrail_attach(${py(o.agentDir)}, ${py(o.socketPath)}, ${py(o.statusPath)}, ${Math.trunc(o.frames)}, ${Number(o.interval)}, ${o.trace === undefined ? "None" : py(o.trace)})\n`;
}

/** Python source that detaches the agent and removes our sys.path entry. */
export function detachSource(o: DetachCodeOptions): string {
  return `${COMMON}${DETACH}\n_leaktrail_detach(${py(o.agentDir)}, ${py(o.statusPath)})\n`;
}

/**
 * One line for `PyRun_SimpleString`: the source travels hex-encoded (no quoting trouble in
 * gdb or Python) and runs with globals of its own, so nothing lands in the target's `__main__`.
 */
export function execString(source: string): string {
  const hex = Buffer.from(source, "utf8").toString("hex");
  return `exec(bytes.fromhex('${hex}').decode('utf-8'),{'__name__':'__leaktrail__'})`;
}

export function readStatus(path: string): InjectStatus | null {
  try {
    const parsed = JSON.parse(readFileSync(path, "utf8")) as InjectStatus;
    return typeof parsed === "object" && parsed !== null && typeof parsed.ok === "boolean" ? parsed : null;
  } catch {
    return null;
  }
}
