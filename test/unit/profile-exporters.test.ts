/**
 * Every profile exporter against one model: a golden test (folded), and validation by an
 * independent reader — pprof decoded with protobufjs against the real profile.proto,
 * speedscope checked with ajv against speedscope's published JSON schema, the SVG parsed
 * as XML — with the decoded values compared to the model's own sums.
 */
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import Ajv from "ajv";
import { XMLParser } from "fast-xml-parser";
import protobuf from "protobufjs";
import { describe, expect, it } from "vitest";
import { callTree, functionTotals } from "../../src/profile/call-tree.js";
import { parseFolded, toFolded } from "../../src/profile/folded.js";
import { formatFor, PROFILE_FORMATS } from "../../src/profile/formats.js";
import { functionLabel, ProfileBuilder, total, VALUE_TYPES, type Profile } from "../../src/profile/model.js";
import { encodePprof, toPprofGz } from "../../src/profile/pprof.js";
import { toSpeedscope } from "../../src/profile/speedscope.js";
import { toSvg } from "../../src/profile/svg.js";

const FIXTURES = fileURLToPath(new URL("../fixtures/profile/", import.meta.url));

/** main → work → hot (CPU-heavy), main → idle (wall only), a second thread, a `<module>` name to escape. */
function sampleProfile(): Profile {
  const b = new ProfileBuilder([VALUE_TYPES.samples, VALUE_TYPES.cpu]);
  const mod = b.fn("<module>", "app.py", 1);
  const work = b.fn("work", "app.py", 10);
  const hot = b.fn("hot", "lib/x&y.py", 3);
  const idle = b.fn("idle", "app.py", 20);
  const stack = (...frames: Array<[number, number]>) => frames.map(([fn, line]) => b.frame(fn, line));
  b.sample(stack([mod, 30], [work, 12], [hot, 5]), [70, 700_000_000], 1, "MainThread");
  b.sample(stack([mod, 30], [work, 13], [hot, 6]), [10, 100_000_000], 1, "MainThread");
  b.sample(stack([mod, 30], [work, 14]), [5, 50_000_000], 1, "MainThread");
  b.sample(stack([mod, 31], [idle, 21]), [40, 1_000_000], 1, "MainThread");
  b.sample(stack([work, 12], [hot, 5]), [15, 149_000_000], 1, "worker");
  return b.build({ name: "python3 app.py", defaultValue: 1, startNs: 1.7e18, durationNs: 1.4e9, periodNs: 1e7 });
}

describe("folded stacks", () => {
  it("golden: one line per distinct function stack, lines of one stack summed", () => {
    expect(toFolded(sampleProfile())).toBe(
      [
        "<module> (app.py);idle (app.py) 1000000",
        "<module> (app.py);work (app.py) 50000000",
        "<module> (app.py);work (app.py);hot (lib/x&y.py) 800000000",
        "work (app.py);hot (lib/x&y.py) 149000000",
        "",
      ].join("\n"),
    );
  });

  it("round-trips: parsed back, every column sums to the model's total", () => {
    const p = sampleProfile();
    for (const v of [0, 1]) {
      const parsed = parseFolded(toFolded(p, [v]));
      const sum = [...parsed.values()].reduce((a, r) => a + (r[0] ?? 0), 0);
      expect(sum).toBe(total(p, v));
    }
    const two = parseFolded(toFolded(p, [0, 1]));
    expect(two.get("<module> (app.py);work (app.py);hot (lib/x&y.py)")).toEqual([80, 800_000_000]);
  });
});

describe("speedscope", () => {
  const schema = JSON.parse(readFileSync(`${FIXTURES}speedscope-file-format-schema.json`, "utf8")) as object;
  const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

  it("validates against speedscope's JSON schema", () => {
    const file = JSON.parse(JSON.stringify(toSpeedscope(sampleProfile()))) as unknown;
    const ok = validate(file);
    expect(validate.errors ?? [], JSON.stringify(validate.errors)).toEqual([]);
    expect(ok).toBe(true);
  });

  it("the schema check can fail: a frame without a name is refused", () => {
    const file = JSON.parse(JSON.stringify(toSpeedscope(sampleProfile()))) as { shared: { frames: Array<{ name?: string }> } };
    delete file.shared.frames[0]!.name;
    expect(validate(file)).toBe(false);
  });

  it("one sampled profile per column and thread; weights and stacks are the model's", () => {
    const p = sampleProfile();
    const file = toSpeedscope(p);
    expect(file.profiles.map((x) => x.name)).toEqual([
      "samples (wall clock) — pid 1 MainThread",
      "samples (wall clock) — pid 1 worker",
      "CPU time — pid 1 MainThread",
      "CPU time — pid 1 worker",
    ]);
    expect(file.profiles[file.activeProfileIndex ?? -1]?.name).toBe("CPU time — pid 1 MainThread");
    const cpu = file.profiles.filter((x) => x.unit === "nanoseconds");
    expect(cpu.reduce((a, x) => a + x.endValue, 0)).toBe(total(p, 1));
    const main = cpu[0]!;
    const names = main.samples.map((s) => s.map((i) => file.shared.frames[i]!.name).join(";"));
    expect(names[0]).toBe("<module> (app.py);work (app.py);hot (lib/x&y.py)");
    expect(main.weights[0]).toBe(700_000_000);
  });
});

describe("pprof", () => {
  const root = protobuf.loadSync(`${FIXTURES}profile.proto`);
  const ProfileMsg = root.lookupType("perftools.profiles.Profile");

  interface Decoded {
    sampleType: Array<{ type: number; unit: number }>;
    sample: Array<{ locationId: number[]; value: number[]; label: Array<{ key: number; str?: number; num?: number }> }>;
    location: Array<{ id: number; line: Array<{ functionId: number; line: number }> }>;
    function: Array<{ id: number; name: number; systemName: number; filename: number; startLine: number }>;
    stringTable: string[];
    durationNanos: number;
    period: number;
    defaultSampleType: number;
  }

  function decode(bytes: Uint8Array): Decoded {
    const msg = ProfileMsg.decode(bytes);
    return ProfileMsg.toObject(msg, { longs: Number, defaults: true, arrays: true }) as unknown as Decoded;
  }

  it("decodes against profile.proto: types, samples, locations, functions and strings agree with the model", () => {
    const p = sampleProfile();
    const d = decode(gunzipSync(toPprofGz(p)));
    const s = (i: number) => d.stringTable[i];
    expect(d.stringTable[0]).toBe("");
    expect(d.sampleType.map((t) => `${s(t.type)}/${s(t.unit)}`)).toEqual(["samples/count", "cpu/nanoseconds"]);
    expect(s(d.defaultSampleType)).toBe("cpu");
    expect(d.durationNanos).toBe(1.4e9);
    expect(d.period).toBe(1e7);
    expect(d.sample).toHaveLength(p.samples.length);
    const fnById = new Map(d.function.map((f) => [f.id, f]));
    const locById = new Map(d.location.map((l) => [l.id, l]));
    d.sample.forEach((smp, i) => {
      const model = p.samples[i]!;
      expect(smp.value).toEqual(model.values);
      // location ids are leaf first; rebuild the stack root first
      const rebuilt = [...smp.locationId].reverse().map((id) => {
        const line = locById.get(id)!.line[0]!;
        const fn = fnById.get(line.functionId)!;
        return `${s(fn.systemName)}@${s(fn.filename)}:${line.line}`;
      });
      const expected = model.stack.map((id) => {
        const fr = p.frames[id]!;
        const fn = p.functions[fr.fn]!;
        return `${fn.name}@${fn.file}:${fr.line}`;
      });
      expect(rebuilt).toEqual(expected);
      const labels = Object.fromEntries(smp.label.map((l) => [s(l.key), l.str ? s(l.str) : l.num]));
      expect(labels).toEqual({ pid: model.pid, thread: model.thread });
    });
    expect(d.function.find((f) => s(f.name) === "work")?.startLine).toBe(10);
    // go tool pprof would strip <…> (C++ templates) from a display name
    expect(d.function.map((f) => s(f.name))).toContain("‹module›");
    expect(d.function.map((f) => s(f.systemName))).toContain("<module>");
  });

  it("writes negative and large int64 values as protobuf does", () => {
    const b = new ProfileBuilder([VALUE_TYPES.growth, VALUE_TYPES.retained]);
    const f = b.frame(b.fn("f", "a.py"), 1);
    b.sample([f], [-5_000_000_000, 2 ** 40 + 3], 9, "t");
    const d = decode(encodePprof(b.build({ name: "x", defaultValue: 0, startNs: 0, durationNs: 0, periodNs: 0 })));
    expect(d.sample[0]!.value).toEqual([-5_000_000_000, 2 ** 40 + 3]);
  });
});

describe("svg flame graph", () => {
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "", isArray: (name) => name === "g" });

  function boxes(svg: string): Array<{ title: string; x: number; width: number; y: number }> {
    const doc = parser.parse(svg) as { svg: { g: Array<{ title: string; rect: { x: string; width: string; y: string } }> } };
    return doc.svg.g.map((g) => ({ title: String(g.title), x: Number(g.rect.x), width: Number(g.rect.width), y: Number(g.rect.y) }));
  }

  it("parses as XML; every function has a box with a tooltip; widths follow the values", () => {
    const p = sampleProfile();
    const svg = toSvg(p, { value: 1 });
    const all = boxes(svg);
    const find = (label: string) => all.filter((b) => b.title.startsWith(`${label} — `));
    const root = find("all")[0]!;
    expect(root.width).toBeCloseTo(1180, 0);
    for (const f of p.functions) expect(find(functionLabel(f)).length, f.name).toBeGreaterThan(0);
    // hot under <module>;work has 800 ms of 1000 ms
    const whole = total(p, 1);
    const hotUnderWork = find("hot (lib/x&y.py)").sort((a, b) => b.width - a.width)[0]!;
    expect(hotUnderWork.width / root.width).toBeCloseTo(800_000_000 / whole, 2);
    expect(hotUnderWork.title).toContain("800.0 ms");
    // flame: children sit above their parent
    const work = find("work (app.py)").sort((a, b) => b.width - a.width)[0]!;
    expect(hotUnderWork.y).toBeLessThan(work.y);
    expect(hotUnderWork.x).toBeGreaterThanOrEqual(work.x - 1e-6);
  });

  it("a differential graph colours growth red and shrinkage blue", () => {
    const b = new ProfileBuilder([VALUE_TYPES.retained, VALUE_TYPES.retained, VALUE_TYPES.growth]);
    const grew = b.frame(b.fn("grew", "a.py"), 1);
    const shrank = b.frame(b.fn("shrank", "a.py"), 2);
    b.sample([grew], [100, 900, 800], 1, "h");
    b.sample([shrank], [500, 100, 0], 1, "h");
    const svg = toSvg(b.build({ name: "d", defaultValue: 1, startNs: 0, durationNs: 0, periodNs: 0 }), { value: 1, diff: { before: 0, after: 1 } });
    const doc = parser.parse(svg) as { svg: { g: Array<{ title: string; rect: { fill: string } }> } };
    const fill = (name: string) => doc.svg.g.find((g) => String(g.title).startsWith(name))!.rect.fill;
    expect(fill("grew")).toMatch(/^rgb\(255,/);
    expect(fill("shrank")).toMatch(/,255\)$/);
  });
});

describe("formats by extension", () => {
  it("picks the longest matching extension and refuses others", () => {
    expect(formatFor("out/profile.speedscope.json")?.extension).toBe(".speedscope.json");
    expect(formatFor("a.PB.GZ")?.extension).toBe(".pb.gz");
    expect(formatFor("x.svg")?.extension).toBe(".svg");
    expect(formatFor("x.folded")?.extension).toBe(".folded");
    expect(formatFor("x.json")).toBeNull();
    expect(formatFor("x.html")).toBeNull();
    for (const f of PROFILE_FORMATS) expect(f.write(sampleProfile(), {}).length).toBeGreaterThan(0);
  });
});

describe("call tree and function totals", () => {
  it("inclusive values count a recursive function once per sample", () => {
    const b = new ProfileBuilder([VALUE_TYPES.samples]);
    const f = b.fn("f", "a.py");
    const g = b.fn("g", "a.py");
    b.sample([b.frame(f, 1), b.frame(g, 2), b.frame(f, 3)], [4], 1, "t");
    b.sample([b.frame(f, 1)], [1], 1, "t");
    const p = b.build({ name: "r", defaultValue: 0, startNs: 0, durationNs: 0, periodNs: 0 });
    const totals = new Map(functionTotals(p).map((t) => [p.functions[t.fn]!.name, t]));
    expect(totals.get("f")?.total).toEqual([5]);
    expect(totals.get("f")?.self).toEqual([5]);
    expect(totals.get("g")?.total).toEqual([4]);
    expect(totals.get("g")?.self).toEqual([0]);
    expect(callTree(p).total).toEqual([5]);
  });
});
