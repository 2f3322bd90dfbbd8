import type { Frame, ObjSitesRecord, TypeOrigin } from "../capture/format.js";
import type { Suspect } from "../report/schema.js";
import { FrameClassifier, isBuiltinType, shortTypeName, siteKey } from "./frames.js";
import type { ProcessData } from "./model.js";
import type { Series, SiteSeries } from "./series.js";
import { theilSen, type TrendResult } from "./stats.js";

/** A type whose live count grows, with the evidence for it. */
export interface GrowingType {
  key: string;
  series: Series;
  trend: TrendResult;
  countGrowth: number;
  countStart: number;
  countEnd: number;
}

interface TypeSite {
  frame: Frame;
  traceback: Frame[];
  /** Instances allocated there at the first and last look. */
  first: number;
  last: number;
}

/** Growth a series shows over its tested part: robust slope times span, never negative. */
export function growthOver(series: Series, start = 0): number {
  const xs = series.xs.slice(start);
  const ys = series.ys.slice(start);
  if (xs.length < 2) return 0;
  const span = (xs[xs.length - 1] ?? 0) - (xs[0] ?? 0);
  return Math.max(0, theilSen(xs, ys).slope * span);
}

/**
 * Where instances of each type were allocated, by user site: from `objsites` records
 * (live objects) or from `garbage` records (unreachable ones).
 */
export function typeSites(
  proc: ProcessData,
  frames: FrameClassifier,
  source: "objsites" | "garbage",
): Map<string, Map<string, TypeSite>> {
  const looks = new Map<string, Array<Array<[number, number]>>>();
  if (source === "objsites") {
    for (const r of proc.objsites as ObjSitesRecord[]) {
      const list = looks.get(r.type) ?? [];
      list.push(r.sites);
      looks.set(r.type, list);
    }
  } else {
    // Sites are known only for probes taken while tracemalloc ran: with tracing windows,
    // that is some probes in the middle; use every probe that has any.
    const withSites = proc.garbage.filter((r) => (r.sites ?? []).length > 0);
    const windowedProbes = proc.hello?.trace_mode === "windows";
    const looksAt = windowedProbes ? withSites : withSites.length > 0 ? [withSites[0], withSites[withSites.length - 1]] : [];
    for (const r of looksAt) {
      if (!r) continue;
      const perType = new Map<string, Array<[number, number]>>();
      for (const [type, tb, n] of r.sites ?? []) {
        const list = perType.get(type) ?? [];
        list.push([tb, n]);
        perType.set(type, list);
      }
      for (const [type, sites] of perType) {
        const list = looks.get(type) ?? [];
        list.push(sites);
        looks.set(type, list);
      }
    }
  }
  const windowed = source === "objsites" ? proc.objsites.some((r) => r.window) : proc.hello?.trace_mode === "windows";
  const out = new Map<string, Map<string, TypeSite>>();
  for (const [type, list] of looks) {
    const bySite = new Map<string, TypeSite>();
    list.forEach((sites, i) => {
      const isFirst = i === 0;
      const isLast = i === list.length - 1;
      for (const [tb, n] of sites) {
        const stack = proc.tracebacks.get(tb);
        if (!stack) continue;
        const f = frames.userFrame(stack);
        if (!f) continue;
        const key = siteKey(f);
        const s = bySite.get(key) ?? { frame: f, traceback: stack, first: 0, last: 0 };
        if (windowed) {
          s.last += n; // each window's survivors are new objects: add them up
        } else {
          if (isFirst) s.first += n;
          if (isLast) s.last += n;
        }
        bySite.set(key, s);
      }
    });
    out.set(type, bySite);
  }
  return out;
}

/**
 * The site where a type gained most instances. Where no site gained (one look only: a part
 * traced for a few seconds, whose one look at the type is the switch's snapshot), the one
 * holding most among the sites whose bytes grew over the part, else the one holding most:
 * the strings a program's imports made, traced to its import line, outnumber a young leak's.
 */
function primarySite(
  sites: Map<string, TypeSite> | undefined,
  siteGrowth: Map<string, number>,
  blockBytes?: (siteKey: string) => number,
): TypeSite | null {
  if (!sites || sites.size === 0) return null;
  let best: TypeSite | null = null;
  let bestScore = -Infinity;
  for (const s of sites.values()) {
    const key = siteKey(s.frame);
    const grewInBytes = (siteGrowth.get(key) ?? 0) > 0;
    const gained = s.last - s.first > 0 ? s.last - s.first : s.last * (grewInBytes ? 1e-6 : 1e-12);
    // With tracing windows, small objects merely in flight when a window closes can
    // outnumber the few leaked ones: weigh instances by the site's mean block size.
    const score = blockBytes ? gained * blockBytes(key) : gained;
    if (score > bestScore) {
      best = s;
      bestScore = score;
    }
  }
  return best;
}

/**
 * Types that leak together form one cluster, one suspect: types whose growth comes from
 * the same site (a Logger and its handler lists, made by one getLogger call), and
 * types that grow by the same number of objects (a Session, its bound method, its
 * history list). The suspect is named after the member a person would recognise — a
 * class of the program's own or a library's before a builtin, else the member whose
 * site gained the most bytes.
 */
function clusterTypes(types: Array<{ t: GrowingType; site: TypeSite }>): Array<Array<{ t: GrowingType; site: TypeSite }>> {
  const bySite = new Map<string, Array<{ t: GrowingType; site: TypeSite }>>();
  for (const m of types) {
    const key = siteKey(m.site.frame);
    bySite.set(key, [...(bySite.get(key) ?? []), m]);
  }
  const growth = (c: Array<{ t: GrowingType }>) => Math.max(...c.map((m) => m.t.countGrowth));
  const groups = [...bySite.values()].sort((a, b) => growth(b) - growth(a));
  const clusters: Array<Array<{ t: GrowingType; site: TypeSite }>> = [];
  for (const g of groups) {
    const home = clusters.find((c) =>
      c.some((a) => g.some((b) => Math.abs(a.t.countGrowth - b.t.countGrowth) <= 0.15 * Math.max(a.t.countGrowth, b.t.countGrowth))),
    );
    if (home) home.push(...g);
    else clusters.push([...g]);
  }
  return clusters;
}

const ORIGIN_RANK: Record<TypeOrigin, number> = { builtin: 0, library: 1, user: 2 };

/**
 * How readily a person recognises a type as the thing that leaks: their own class first,
 * then a library's Python class, then a C type. Captures without origins fall back to
 * "is it in builtins".
 */
export function typeRanker(procs: ProcessData[]): (qualname: string) => number {
  const origins = new Map<string, TypeOrigin>();
  for (const proc of procs) for (const r of proc.objsites) if (r.origin) origins.set(r.type, r.origin);
  return (qualname) => {
    if (!qualname) return -1;
    const origin = origins.get(qualname);
    if (origin) return ORIGIN_RANK[origin];
    return isBuiltinType(qualname) ? ORIGIN_RANK.builtin : ORIGIN_RANK.library;
  };
}

export interface SuspectInput {
  proc: ProcessData;
  frames: FrameClassifier;
  growingTypes: GrowingType[];
  typeSites: Map<string, Map<string, TypeSite>>;
  sites: Map<string, SiteSeries>;
  /** Sites whose own series grows significantly. */
  growingSites: Set<string>;
  siteGrowth: Map<string, number>;
  /** Bytes each site was seen to keep, to choose a cluster's representative (default: siteGrowth). */
  siteKept?: Map<string, number>;
  evidence: Suspect["type_evidence"];
  /** Mean bytes per surviving block at a site, from tracing windows (windows mode only). */
  blockBytes?: (siteKey: string) => number;
  totalGrowth: number;
  durationS: number;
}

export function buildSuspects(input: SuspectInput): Suspect[] {
  const { frames, typeSites: tsites, siteGrowth } = input;
  const suspects: Suspect[] = [];
  const claimed = new Set<string>();
  const gcTypes = new Set(input.proc.objsites.filter((r) => r.gc).map((r) => r.type));
  const rank = typeRanker([input.proc]);

  const located = input.growingTypes
    .map((t) => ({ t, site: primarySite(tsites.get(t.key), siteGrowth, input.blockBytes) }))
    .filter((m): m is { t: GrowingType; site: TypeSite } => m.site !== null);
  const kept = input.siteKept ?? siteGrowth;
  for (const withSite of clusterTypes(located)) {
    const bytesAt = (m: { site: TypeSite }) => kept.get(siteKey(m.site.frame)) ?? 0;
    const bestRank = Math.max(...withSite.map((m) => rank(m.t.key)));
    const pool = withSite.filter((m) => rank(m.t.key) === bestRank);
    pool.sort(
      (a, b) =>
        bytesAt(b) - bytesAt(a) ||
        Number(gcTypes.has(b.t.key)) - Number(gcTypes.has(a.t.key)) ||
        b.t.countGrowth - a.t.countGrowth,
    );
    const rep = pool[0] as { t: GrowingType; site: TypeSite };
    const clusterSites = new Set(withSite.map((m) => siteKey(m.site.frame)));
    let size = 0;
    for (const k of clusterSites) claimed.add(k);
    if (input.blockBytes) {
      // Tracing windows see few survivors; the census sees every object: its count growth
      // times the mean block size at each member's site estimates the cluster's bytes.
      const blockBytes = input.blockBytes;
      for (const m of withSite) size += m.t.countGrowth * blockBytes(siteKey(m.site.frame));
    } else {
      for (const k of clusterSites) size += siteGrowth.get(k) ?? 0;
    }
    suspects.push({
      site: frames.site(rep.site.frame),
      traceback: frames.traceback(rep.site.traceback),
      type: shortTypeName(rep.t.key),
      type_qualname: rep.t.key,
      type_evidence: input.evidence,
      count_growth: Math.round(rep.t.countGrowth),
      size_growth_bytes: Math.round(size),
      growth_bytes_per_s: input.durationS > 0 ? size / input.durationS : 0,
      share: 0,
      retainers: [],
      pid: input.proc.pid,
    });
  }

  // Growth at a site that no growing type explains: a container growing in place, or
  // objects of a type the census did not single out.
  for (const key of input.growingSites) {
    if (claimed.has(key)) continue;
    const s = input.sites.get(key);
    if (!s) continue;
    let typeKey = "";
    let most = 0;
    for (const [type, bySite] of tsites) {
      const n = bySite.get(key)?.last ?? 0;
      if (n > most) {
        most = n;
        typeKey = type;
      }
    }
    const size = siteGrowth.get(key) ?? 0;
    suspects.push({
      site: frames.site(s.frame),
      traceback: frames.traceback(s.traceback),
      type: typeKey ? shortTypeName(typeKey) : "",
      type_qualname: typeKey,
      type_evidence: typeKey ? input.evidence : "none",
      count_growth: Math.round(growthOver(s.counts)),
      size_growth_bytes: Math.round(size),
      growth_bytes_per_s: input.durationS > 0 ? size / input.durationS : 0,
      share: 0,
      retainers: [],
      pid: input.proc.pid,
    });
  }

  suspects.sort((a, b) => b.size_growth_bytes - a.size_growth_bytes || b.count_growth - a.count_growth);
  promoteClass(suspects, rank);
  const total = Math.max(input.totalGrowth, suspects.reduce((acc, s) => acc + s.size_growth_bytes, 0));
  for (const s of suspects) s.share = total > 0 ? Math.min(1, s.size_growth_bytes / total) : 0;
  return suspects;
}

/**
 * Without a heap graph there are no retained sizes: a Session's bytes do not include the
 * strings its history holds, so a cluster of builtins can outweigh the class that keeps
 * them. Objects of a class growing at a comparable size are the better name for the
 * leak: the top suspect becomes the largest class-typed one when it has at least this
 * share of the top suspect's bytes.
 */
const CLASS_SHARE_TO_LEAD = 0.25;

export function promoteClass(suspects: Suspect[], rank: (qualname: string) => number): void {
  const top = suspects[0];
  if (!top) return;
  for (let r = ORIGIN_RANK.user; r > rank(top.type_qualname); r--) {
    const i = suspects.findIndex((s) => rank(s.type_qualname) === r);
    if (i > 0 && (suspects[i] as Suspect).size_growth_bytes >= CLASS_SHARE_TO_LEAD * top.size_growth_bytes) {
      const [cls] = suspects.splice(i, 1);
      suspects.unshift(cls as Suspect);
      return;
    }
  }
}
