import type { CaptureRecord } from "../capture/format.js";
import { formatBytes, formatRate } from "../report/units.js";

/** The one live line on a terminal: elapsed, RSS, Python heap, growth rate. */
export class StatusLine {
  private readonly started = Date.now();
  private latest = new Map<number, { t: number; rss: number; heap: number }>();
  private first = new Map<number, { t: number; heap: number }>();
  private timer: NodeJS.Timeout | null = null;
  private shown = false;
  private verdict = "";

  constructor(private readonly stream: NodeJS.WriteStream) {}

  start(): void {
    if (!this.stream.isTTY) return;
    this.timer = setInterval(() => this.draw(), 500);
    this.timer.unref();
  }

  /** The verdict so far, shown at the end of the line (see LiveVerdict). */
  setVerdict(text: string): void {
    this.verdict = text;
  }

  onRecord(r: CaptureRecord): void {
    if (r.k !== "sample") return;
    this.latest.set(r.pid, { t: r.t, rss: r.rss, heap: r.heap });
    if (!this.first.has(r.pid)) this.first.set(r.pid, { t: r.t, heap: r.heap });
  }

  private draw(): void {
    let rss = 0;
    let heap = 0;
    let rate = 0;
    for (const [pid, s] of this.latest) {
      rss += s.rss;
      heap += Math.max(0, s.heap);
      const f = this.first.get(pid);
      if (f && s.t > f.t) rate += (s.heap - f.heap) / (s.t - f.t);
    }
    const secs = ((Date.now() - this.started) / 1000).toFixed(1);
    const procs = this.latest.size === 1 ? "" : `  ${this.latest.size} processes`;
    this.stream.write(`\r\x1b[2K\x1b[2mleaktrail ${secs}s  rss ${formatBytes(rss)}  heap ${formatBytes(heap)}  ${formatRate(rate)}${procs}${this.verdict ? `  ${this.verdict}` : ""}\x1b[22m`);
    this.shown = true;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.shown) this.stream.write("\r\x1b[2K");
  }
}
