import type {
  AgentErrorRecord,
  CensusRecord,
  ChildExitRecord,
  CliStopRecord,
  Frame,
  GarbageRecord,
  Header,
  HeapGraphRecord,
  HeapRecord,
  HelloRecord,
  ObjSitesRecord,
  CaptureRecord,
  SampleRecord,
  TraceSwitchRecord,
} from "../capture/format.js";

/** A record of the window an "auto" process closed when it switched: it began before the switch. */
function isSwitchWindow(proc: ProcessData, record: { window?: [number, number] | null }): boolean {
  return proc.traceSwitch !== undefined && !!record.window && record.window[0] < proc.traceSwitch.t;
}

/** Everything one Python process sent, in arrival order. */
export interface ProcessData {
  pid: number;
  hello: HelloRecord | null;
  /** When an "auto" process left whole-run tracing for windows. */
  traceSwitch?: TraceSwitchRecord;
  /** An "auto" process's whole-heap records from before its switch (trace-switch.ts). */
  beforeSwitch?: { heaps: HeapRecord[]; objsites: ObjSitesRecord[] };
  /** The records of the window an "auto" process closed when it switched (isSwitchWindow). */
  switchWindow?: { heaps: HeapRecord[]; objsites: ObjSitesRecord[] };
  samples: SampleRecord[];
  census: CensusRecord[];
  heaps: HeapRecord[];
  objsites: ObjSitesRecord[];
  garbage: GarbageRecord[];
  /** Heap graphs, in arrival order; still compressed (the engine decodes the one it needs). */
  heapGraphs: HeapGraphRecord[];
  /** Heap graph walks that began; more than `heapGraphs` means some never finished. */
  heapGraphsBegun: number;
  errors: AgentErrorRecord[];
  tracebacks: Map<number, Frame[]>;
  ended: boolean;
}

/** The in-memory model of a capture that every analysis and output reads. */
export interface CaptureModel {
  header: Header;
  processes: ProcessData[];
  childExit: ChildExitRecord | null;
  cliStop: CliStopRecord | null;
  truncated: boolean;
}

function emptyProcess(pid: number): ProcessData {
  return {
    pid,
    hello: null,
    samples: [],
    census: [],
    heaps: [],
    objsites: [],
    garbage: [],
    heapGraphs: [],
    heapGraphsBegun: 0,
    errors: [],
    tracebacks: new Map(),
    ended: false,
  };
}

/**
 * Builds the model incrementally: the live run feeds records as they arrive, `report`
 * feeds a whole file, and both end with the same model.
 */
export class ModelBuilder {
  private readonly byPid = new Map<number, ProcessData>();
  private childExit: ChildExitRecord | null = null;
  private cliStop: CliStopRecord | null = null;

  constructor(private readonly header: Header, private truncated = false) {}

  add(record: CaptureRecord): void {
    if (record.k === "child-exit") {
      this.childExit = record;
      return;
    }
    if (record.k === "cli-stop") {
      this.cliStop = record;
      return;
    }
    let proc = this.byPid.get(record.pid);
    if (record.k === "hello" && proc?.hello) {
      // the same pid says hello again: exec() replaced the process; keep the newer one
      proc = undefined;
    }
    if (!proc) {
      proc = emptyProcess(record.pid);
      this.byPid.set(record.pid, proc);
    }
    switch (record.k) {
      case "hello":
        proc.hello = record;
        break;
      case "sample":
        proc.samples.push(record);
        break;
      case "census": {
        const previous = proc.census[proc.census.length - 1];
        if (record.delta && previous) {
          const types = { ...previous.types };
          for (const [k, n] of Object.entries(record.types)) {
            if (n === 0) delete types[k];
            else types[k] = n;
          }
          proc.census.push({ ...record, types, delta: false });
        } else {
          proc.census.push(record);
        }
        break;
      }
      case "heap": {
        if (isSwitchWindow(proc, record)) {
          (proc.switchWindow ??= { heaps: [], objsites: [] }).heaps.push(record);
          break;
        }
        const previous = proc.heaps[proc.heaps.length - 1];
        if (record.delta && previous) {
          const sites = new Map<number, [number, number, number]>(previous.sites.map((s) => [s[0], s]));
          for (const site of record.sites) {
            if (site[1] === 0 && site[2] === 0) sites.delete(site[0]);
            else sites.set(site[0], site);
          }
          proc.heaps.push({ ...record, sites: [...sites.values()], delta: false });
        } else {
          proc.heaps.push(record);
        }
        break;
      }
      case "objsites":
        if (isSwitchWindow(proc, record)) {
          (proc.switchWindow ??= { heaps: [], objsites: [] }).objsites.push(record);
          break;
        }
        proc.objsites.push(record);
        break;
      case "garbage":
        proc.garbage.push(record);
        break;
      case "heap-graph-begin":
        proc.heapGraphsBegun++;
        break;
      case "heap-graph":
        proc.heapGraphs.push(record);
        break;
      case "agent-error":
        proc.errors.push(record);
        break;
      case "trace-switch":
        // From here on the process is in windows mode; its whole-heap snapshots from
        // before would read as windows of enormous survival: keep only windowed ones. The
        // window the switch closes (from start to now) holds the whole heap built so far,
        // not a window's worth of growth: kept apart (isSwitchWindow), as evidence of where
        // objects were made but not of how fast the heap grows.
        if (proc.hello) proc.hello = { ...proc.hello, trace_mode: "windows" };
        proc.beforeSwitch = { heaps: proc.heaps.filter((h) => !h.window), objsites: proc.objsites.filter((o) => !o.window) };
        proc.heaps = proc.heaps.filter((h) => h.window);
        proc.objsites = proc.objsites.filter((o) => o.window);
        proc.traceSwitch = record;
        break;
      case "tb":
        proc.tracebacks.set(record.id, record.frames);
        break;
      case "bye":
        proc.ended = true;
        break;
    }
  }

  markTruncated(): void {
    this.truncated = true;
  }

  build(): CaptureModel {
    return {
      header: this.header,
      processes: [...this.byPid.values()].filter((p) => p.hello !== null),
      childExit: this.childExit,
      cliStop: this.cliStop,
      truncated: this.truncated,
    };
  }
}

export function buildModel(header: Header, records: Iterable<CaptureRecord>, truncated = false): CaptureModel {
  const builder = new ModelBuilder(header, truncated);
  for (const r of records) builder.add(r);
  return builder.build();
}
