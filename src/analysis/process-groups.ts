/**
 * Process trees (forking servers, multiprocessing pools, Celery prefork): every process is
 * its own series with its own fit; this module sorts the fitted processes into groups by
 * role and judges each group by counting its processes' verdicts — never by fitting a sum,
 * which recycled workers (gunicorn --max-requests) would turn into a sawtooth.
 */
import { basename, dirname } from "node:path";
import type { LeakKind, ProcessGroupSummary, SiteRef, Suspect } from "../report/schema.js";
import type { ProcessAnalysis } from "./analyse.js";

/**
 * A child process is judged only when its own series allowed a fit: at least this many
 * points after its warm-up …
 */
export const MIN_FIT_POINTS = 8;
/** … spanning at least this many seconds (a worker that only imported and died shows a rise, not a trend). */
export const MIN_FIT_SECONDS = 1.5;

export interface ProcessGroup {
  key: string;
  name: string;
  role: "root" | "children";
  parent: ProcessGroup | null;
  argv: string[];
  /** By start time. */
  members: ProcessAnalysis[];
  judged: ProcessAnalysis[];
  leaking: ProcessAnalysis[];
  /** Leaking processes of the group's kind: those naming its most common top suspect, and those naming none. */
  agreeing: ProcessAnalysis[];
  leak: boolean;
  kind: LeakKind;
  /** The most common top suspect of the leaking processes, when they named one. */
  top: Suspect | null;
}

/** Key of a leaking process's main finding: its top suspect's site and type, else its kind. */
export function topKey(p: ProcessAnalysis): string {
  const s = p.suspects[0];
  return s ? `${s.site.file}:${s.site.line}|${s.type_qualname}` : `${p.kind}|`;
}

/**
 * Whether a process's own verdict counts. Root processes: always, as they always did (a
 * single program keeps its verdict). Children: when their series has a fit of its own.
 */
export function isJudged(p: ProcessAnalysis, role: "root" | "children"): boolean {
  if (role === "root") return true;
  const t = p.heapTrend;
  if (!t) return false;
  const tested = p.heap.xs.length - t.start;
  const first = p.heap.xs[t.start] ?? 0;
  const last = p.heap.xs[p.heap.xs.length - 1] ?? 0;
  return tested >= MIN_FIT_POINTS && last - first >= MIN_FIT_SECONDS;
}

/** What a person calls the program: "gunicorn", "app.py", "pkg" for `python -m pkg`. */
export function programName(argv: string[], executable: string): string {
  const first = argv[0] ?? "";
  if (first === "" || first === "-c" || first === "-") return `${basename(executable) || "python"}${first ? ` ${first}` : ""}`;
  const base = basename(first);
  if (base === "__main__.py") return basename(dirname(first)) || base;
  return base;
}

function startOf(p: ProcessAnalysis): number {
  return p.proc.hello?.t ?? p.proc.samples[0]?.t ?? 0;
}

/**
 * Groups processes by role. A process whose parent is not in the capture is a root; roots
 * with the same argv are one group. A child's group is its parent's group plus its own
 * argv: gunicorn's recycled workers (same master, same argv) are one group, and so are
 * the helpers every worker of a pool starts.
 */
export function groupProcesses(processes: ProcessAnalysis[]): ProcessGroup[] {
  const byPid = new Map(processes.map((p) => [p.proc.pid, p]));
  const groupKeyOf = new Map<number, string>();
  const keyOf = (p: ProcessAnalysis, seen: Set<number>): string => {
    const known = groupKeyOf.get(p.proc.pid);
    if (known !== undefined) return known;
    const parent = byPid.get(p.proc.hello?.ppid ?? -1);
    const argv = JSON.stringify(p.proc.hello?.argv ?? []);
    seen.add(p.proc.pid);
    const key = parent && parent !== p && !seen.has(parent.proc.pid) ? `${keyOf(parent, seen)}\n${argv}` : argv;
    groupKeyOf.set(p.proc.pid, key);
    return key;
  };
  const ordered = [...processes].sort((a, b) => startOf(a) - startOf(b) || a.proc.pid - b.proc.pid);
  const groups = new Map<string, ProcessGroup>();
  for (const p of ordered) {
    const key = keyOf(p, new Set());
    let g = groups.get(key);
    if (!g) {
      const parentKey = key.includes("\n") ? key.slice(0, key.lastIndexOf("\n")) : null;
      g = {
        key,
        name: "",
        role: parentKey === null ? "root" : "children",
        parent: parentKey === null ? null : groups.get(parentKey) ?? null,
        argv: p.proc.hello?.argv ?? [],
        members: [],
        judged: [],
        leaking: [],
        agreeing: [],
        leak: false,
        kind: "none",
        top: null,
      };
      groups.set(key, g);
    }
    g.members.push(p);
  }
  const list = [...groups.values()];
  nameGroups(list);
  for (const g of list) judgeGroup(g);
  // roots first, then each group after its parent
  const depth = (g: ProcessGroup): number => (g.parent ? 1 + depth(g.parent) : 0);
  return list.sort((a, b) => depth(a) - depth(b) || startOf(a.members[0]!) - startOf(b.members[0]!));
}

function nameGroups(groups: ProcessGroup[]): void {
  const used = new Map<string, number>();
  for (const g of groups) {
    const first = g.members[0]!;
    const prog = programName(g.argv, first.proc.hello?.executable ?? "");
    let name = prog;
    if (g.parent) {
      const parentProg = programName(g.parent.argv, g.parent.members[0]?.proc.hello?.executable ?? "");
      if (prog === parentProg) name = g.parent.role === "root" ? `${prog} worker` : `${g.parent.name} child`;
    }
    const n = (used.get(name) ?? 0) + 1;
    used.set(name, n);
    g.name = n === 1 ? name : `${name} #${n}`;
  }
}

/**
 * A group leaks when at least half of its judged processes leak, and leak the same way (kind).
 * Its top suspect is the one most of them name: recycled workers that each leaked a
 * little before they died agree on where. A worker too short-lived to name a suspect of
 * its own still counts for the verdict; it abstains on the site.
 */
function judgeGroup(g: ProcessGroup): void {
  g.judged = g.members.filter((p) => isJudged(p, g.role));
  g.leaking = g.judged.filter((p) => p.kind !== "none");
  const sameKind = largestGroup(g.leaking, (p) => p.kind);
  const named = largestGroup(sameKind.filter((p) => p.suspects.length > 0), topKey);
  g.agreeing = [...named, ...sameKind.filter((p) => p.suspects.length === 0)];
  // At least half: a short-lived worker's "no leak" is mostly too little evidence (a few
  // seconds of a slow leak under the block count's noise), not evidence against it.
  g.leak = sameKind.length > 0 && sameKind.length * 2 >= g.judged.length;
  g.kind = g.leak ? sameKind[0]!.kind : "none";
  g.top = named[0]?.suspects[0] ?? null;
}

/** The largest set of items sharing a key (the first such set on a tie); empty for none. */
function largestGroup<T>(items: T[], keyOf: (item: T) => string): T[] {
  const byKey = new Map<string, T[]>();
  for (const item of items) byKey.set(keyOf(item), [...(byKey.get(keyOf(item)) ?? []), item]);
  let best: T[] = [];
  for (const members of byKey.values()) if (members.length > best.length) best = members;
  return best;
}

/** The report's view of a group. */
export function summarizeGroup(g: ProcessGroup, top: Suspect | null): ProcessGroupSummary {
  const site: SiteRef | null = top ? { ...top.site } : null;
  return {
    name: g.name,
    role: g.role,
    parent: g.parent?.name ?? null,
    argv: g.argv,
    pids: g.members.map((p) => p.proc.pid),
    judged: g.judged.map((p) => p.proc.pid),
    leaking: g.leaking.map((p) => p.proc.pid),
    leak: g.leak,
    kind: g.kind,
    top_site: site,
    top_type: top?.type ?? "",
  };
}

/**
 * Suspects from several processes that name the same site and type become one: counts
 * and bytes add up, `pids` lists the processes, `pid` is the first of them. Rates: bytes
 * over the processes' summed tested spans (recycled workers ran one after another, so
 * their rates do not add). Share: of those processes' summed heap growth.
 */
export function mergeSuspects(suspects: Suspect[]): Suspect[] {
  const byKey = new Map<string, Suspect[]>();
  for (const s of suspects) {
    const key = `${s.site.file}:${s.site.line}:${s.site.function}|${s.type_qualname}`;
    byKey.set(key, [...(byKey.get(key) ?? []), s]);
  }
  const out: Suspect[] = [];
  for (const same of byKey.values()) {
    const first = same[0]!;
    const pids = [...new Set(same.flatMap((s) => s.pids ?? [s.pid]))].sort((a, b) => a - b);
    if (same.length === 1) {
      out.push({ ...first, pid: pids[0]!, pids });
      continue;
    }
    let size = 0;
    let count = 0;
    let seconds = 0;
    let total = 0;
    for (const s of same) {
      size += s.size_growth_bytes;
      count += s.count_growth;
      if (s.growth_bytes_per_s > 0) seconds += s.size_growth_bytes / s.growth_bytes_per_s;
      if (s.share > 0) total += s.size_growth_bytes / s.share;
    }
    const biggest = same.reduce((a, b) => (b.size_growth_bytes > a.size_growth_bytes ? b : a));
    out.push({
      ...biggest,
      traceback: biggest.traceback,
      retainers: same.find((s) => s.retainers.length > 0)?.retainers ?? [],
      count_growth: count,
      size_growth_bytes: size,
      growth_bytes_per_s: seconds > 0 ? size / seconds : 0,
      share: total > 0 ? Math.min(1, size / total) : 0,
      pid: pids[0]!,
      pids,
    });
  }
  return out;
}
