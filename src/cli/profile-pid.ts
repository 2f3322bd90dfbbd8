import { UsageError } from "./errors.js";
import type { RawStacks } from "../profile/raw.js";

export interface ProfilePidOptions {
  pid: string;
  durationS: number;
  rate: number;
  memory: boolean;
  frames: number;
  quiet: boolean;
}

export async function profilePid(_o: ProfilePidOptions): Promise<{ raws: RawStacks[]; status: number }> {
  throw new UsageError("profile: --pid is not available yet");
}
