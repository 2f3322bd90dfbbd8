/**
 * Importer: the sampler's files (`leaktrail.stacks/1`, one per process) → one Profile.
 *
 * Columns: wall samples and CPU time, and with --memory also bytes allocated (sampled),
 * bytes and blocks retained. CPU is the default column when the per-thread CPU clocks were
 * read; a sleeping or waiting thread then adds nothing, as in `py-spy record` without `--idle`.
 * When several processes took part, each stack starts with a frame naming its process, as
 * `py-spy record --subprocesses` does.
 */
import { FrameClassifier } from "../analysis/frames.js";
import { FunctionNames } from "../collect/function-names.js";
import { ProfileBuilder, VALUE_TYPES, type Profile, type ValueType } from "./model.js";
import type { RawStacks } from "./raw.js";

export interface StacksProfileOptions {
  /** Working directory: files under it are shown relative to it. */
  cwd: string;
  name: string;
}

export function stacksProfile(raws: RawStacks[], opts: StacksProfileOptions): Profile {
  const memory = raws.some((r) => r.memory);
  const types: ValueType[] = [VALUE_TYPES.samples, VALUE_TYPES.cpu];
  if (memory) types.push(VALUE_TYPES.alloc, VALUE_TYPES.retained, VALUE_TYPES.retainedBlocks);
  const b = new ProfileBuilder(types);
  const show = new FrameClassifier([], opts.cwd);
  const names = new FunctionNames();
  const many = raws.length > 1;
  const ordered = [...raws].sort((x, y) => x.start - y.start || x.pid - y.pid);
  for (const raw of ordered) {
    const root = many ? [b.frame(b.fn(`process ${raw.pid}: ${raw.argv.join(" ") || raw.executable}`, ""), 0)] : [];
    const fnOfCode = raw.codes.map(([file, name, first]) => b.fn(name, show.display(file), first));
    for (const [thread, flat, samples, cpu, alloc] of raw.stacks) {
      const stack: number[] = [...root];
      for (let i = flat.length - 2; i >= 0; i -= 2) {
        const fn = fnOfCode[flat[i] as number];
        if (fn !== undefined) stack.push(b.frame(fn, flat[i + 1] as number));
      }
      const threadName = raw.threads[thread]?.[2] ?? `thread ${thread}`;
      const values = [samples, cpu];
      if (memory) values.push(alloc, 0, 0);
      b.sample(stack, values, raw.pid, threadName);
    }
    if (memory) {
      for (const [frames, size, count] of raw.retained) {
        const stack: number[] = [...root];
        for (let i = frames.length - 1; i >= 0; i--) {
          const [file, line] = frames[i]!;
          stack.push(b.frame(b.fn(names.at(file, line), show.display(file)), line));
        }
        b.sample(stack, [0, 0, 0, size, count], raw.pid, "(heap at exit)");
      }
    }
  }
  const cpuClock = ordered.some((r) => r.cpu_clock);
  const start = Math.min(...ordered.map((r) => r.start));
  const end = Math.max(...ordered.map((r) => r.end));
  const hz = ordered[0]?.hz ?? 100;
  return b.build({
    name: opts.name,
    defaultValue: cpuClock ? 1 : 0,
    startNs: Math.round(start * 1e9),
    durationNs: Math.max(0, Math.round((end - start) * 1e9)),
    periodNs: Math.round(1e9 / hz),
  });
}
