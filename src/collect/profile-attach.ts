/**
 * `leaktrail profile --pid PID`: starts the stack sampler inside a running CPython (the
 * same injection as `leaktrail attach`: gdb on 3.9–3.13, sys.remote_exec on 3.14+), lets it
 * sample for a while, stops it again — thread gone, tracemalloc as it was — and reads the
 * file it wrote. The sampler writes files, so no socket is needed.
 */
import { mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RawStacks } from "../profile/raw.js";
import { readStacksDir } from "../profile/read-stacks.js";
import { agentPythonDir } from "./agent-path.js";
import type { InjectStatus } from "./attach-code.js";
import { AttachError, inspectTarget, processAlive, sameMountNamespace } from "./attach-proc.js";
import { makeInjector, shareWithTarget } from "./attach.js";
import { makeSocketDir } from "./socket-dir.js";

export interface ProfileAttachOptions {
  pid: number;
  durationS: number;
  rate: number;
  memory: boolean;
  frames: number;
  onNote?: (message: string) => void;
  onDebug?: (text: string) => void;
}

export interface ProfileAttachResult {
  raws: RawStacks[];
  ended: "duration" | "signal" | "process-exited";
  /** Why the sampler could not be stopped (it then stops with the process), else null. */
  detachError: string | null;
}

function py(value: string | number | boolean): string {
  return typeof value === "boolean" ? (value ? "True" : "False") : JSON.stringify(value);
}

/** Python run inside the target: start or stop the sampler; never raises, prints nothing. */
export function profileSource(o: { agentDir: string; outDir: string; statusPath: string; rate: number; memory: boolean; frames: number; action: "start" | "stop" }): string {
  return `
def _leaktrail_profile(agent_dir, out_dir, status_path, hz, memory, frames, action):
    import sys
    status = {"ok": False}
    added = agent_dir not in sys.path
    try:
        status["python"] = ".".join(str(v) for v in sys.version_info[:3])
        if added:
            sys.path.insert(0, agent_dir)
        try:
            import leaktrail.stack_sampler as ss
        finally:
            while added and agent_dir in sys.path:
                sys.path.remove(agent_dir)
        if action == "start":
            if getattr(ss, "_sampler", None) is not None:
                status["error"] = "a leaktrail profile already runs in this process"
            else:
                status["ok"] = bool(ss.start(out_dir, hz=hz, memory=memory, frames=frames))
                if not status["ok"]:
                    status["error"] = "the sampler did not start"
        else:
            status["ok"] = bool(ss.detach())
            if not status["ok"]:
                status["error"] = "no leaktrail profile runs in this process"
    except BaseException as exc:
        status["ok"] = False
        status["error"] = "%s: %s" % (type(exc).__name__, exc)
        if isinstance(exc, KeyboardInterrupt):
            import _thread
            _thread.interrupt_main()
    finally:
        try:
            import json, os
            with open(status_path + ".tmp", "w") as f:
                json.dump(status, f)
            os.replace(status_path + ".tmp", status_path)
        except BaseException:
            pass


_leaktrail_profile(${py(o.agentDir)}, ${py(o.outDir)}, ${py(o.statusPath)}, ${Number(o.rate)}, ${py(o.memory)}, ${Math.trunc(o.frames)}, ${py(o.action)})
`;
}

export async function profileAttach(opts: ProfileAttachOptions): Promise<ProfileAttachResult> {
  const pid = opts.pid;
  const target = inspectTarget(pid);
  if (!sameMountNamespace(pid)) {
    throw new AttachError(`process ${pid} lives in another mount namespace (a container?): run leaktrail inside the same container`, "other");
  }
  const dir = makeSocketDir(tmpdir());
  const outDir = join(dir, "out");
  mkdirSync(outDir);
  shareWithTarget(dir, target);
  shareWithTarget(outDir, target);
  let stopped = false;
  const onSignal = () => {
    stopped = true;
  };
  try {
    const injector = makeInjector(target, dir, { pid, capturePath: "", frames: 0, interval: 0.1, durationS: opts.durationS, onDebug: opts.onDebug });
    const agentDir = agentPythonDir();
    const run = async (action: "start" | "stop"): Promise<InjectStatus | null> => {
      const statusPath = join(dir, `${action}-status.json`);
      const source = profileSource({ agentDir, outDir, statusPath, rate: opts.rate, memory: opts.memory, frames: opts.frames, action });
      return injector.run(source, statusPath, `${action}.py`);
    };
    const started = await run("start");
    if (started && !started.ok) throw new AttachError(`the sampler did not start in process ${pid}: ${started.error ?? "no reason given"}`, "injection");
    opts.onNote?.(`sampling process ${pid}${started?.python ? ` (Python ${started.python})` : ""} with ${injector.method === "gdb" ? "gdb" : "sys.remote_exec"} for ${opts.durationS} s (Ctrl-C stops early)`);
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    const deadline = Date.now() + opts.durationS * 1000;
    while (!stopped && Date.now() < deadline && processAlive(pid)) await new Promise((r) => setTimeout(r, 100));
    const ended = !processAlive(pid) ? "process-exited" : stopped ? "signal" : "duration";
    let detachError: string | null = null;
    if (ended !== "process-exited") {
      try {
        const status = await run("stop");
        if (status && !status.ok) detachError = status.error ?? "the sampler did not stop";
      } catch (err) {
        if (processAlive(pid)) detachError = err instanceof Error ? err.message.split("\n")[0]! : String(err);
      }
    }
    return { raws: readStacksDir(outDir), ended, detachError };
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    rmSync(dir, { recursive: true, force: true });
  }
}
