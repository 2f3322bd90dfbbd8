import { AttachError, parsePid } from "../collect/attach-proc.js";
import { profileAttach } from "../collect/profile-attach.js";
import type { RawStacks } from "../profile/raw.js";
import { UsageError } from "./errors.js";

export interface ProfilePidOptions {
  pid: string;
  durationS: number;
  rate: number;
  memory: boolean;
  frames: number;
  quiet: boolean;
}

/** Exit status when leaktrail could not get in or out (as `leaktrail attach`). */
const ATTACH_FAILED = 1;

/** `profile --pid`: samples a running process; the status is 0, 130 after Ctrl-C, 1 when attaching failed. */
export async function profilePid(o: ProfilePidOptions): Promise<{ raws: RawStacks[]; status: number }> {
  let pid: number;
  try {
    pid = parsePid(o.pid);
  } catch (err) {
    throw new UsageError(`profile: ${(err as Error).message}`);
  }
  if (pid === process.pid) throw new UsageError("profile: that is leaktrail's own process id");
  try {
    const r = await profileAttach({
      pid,
      durationS: o.durationS,
      rate: o.rate,
      memory: o.memory,
      frames: o.frames,
      onNote: o.quiet ? undefined : (m) => process.stderr.write(`leaktrail: ${m}\n`),
      onDebug: process.env.LEAKTRAIL_DEBUG ? (t) => process.stderr.write(t) : undefined,
    });
    if (r.detachError) {
      process.stderr.write(`leaktrail: profile: could not stop the sampler in process ${pid} (${r.detachError}); it stops when the process ends\n`);
    }
    if (r.ended === "process-exited" && !o.quiet) process.stderr.write(`leaktrail: process ${pid} ended while it was sampled\n`);
    return { raws: r.raws, status: r.detachError ? ATTACH_FAILED : r.ended === "signal" ? 130 : 0 };
  } catch (err) {
    if (err instanceof AttachError) throw new UsageError(`profile: ${err.message.split("\n")[0]}`, err.kind === "bad-pid" ? 2 : ATTACH_FAILED);
    throw err;
  }
}
