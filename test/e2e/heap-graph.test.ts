/**
 * End to end: heap graphs from a real Python program — the agent's forked walk, the CLI's
 * capture, the engine's retainer paths in the report, and `leaktrail heap` over the capture.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliEnv, fixture, markerLine } from "./helpers.js";
import type { Report } from "../../src/report/schema.js";

const BIN = fileURLToPath(new URL("../../bin/leaktrail", import.meta.url));
const FIXTURE = "retained_index.py";
let dir = "";

function leaktrail(args: string[], timeout = 120_000) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, env: cliEnv(), encoding: "utf8", timeout });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function captureLines(name: string): Array<Record<string, unknown>> {
  return readFileSync(join(dir, name), "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe("heap graphs from a real program", () => {
  let report: Report;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "lt-heapgraph-"));
    fixture(dir, FIXTURE);
    const r = leaktrail(["run", "-q", "--json", "r.json", "-o", "c.ltcap", "--", "python3", FIXTURE]);
    expect(r.code, r.stderr).toBe(0);
    report = JSON.parse(readFileSync(join(dir, "r.json"), "utf8")) as Report;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("names the chain that keeps the leaked objects alive, with what it holds", () => {
    const top = report.suspects[0]!;
    expect(top.site).toMatchObject({ file: FIXTURE, line: markerLine(FIXTURE, "leak-site") });
    const path = top.retainers.join(" → ");
    expect(path).toContain("module __main__");
    expect(path).toContain(".INDEX");
    expect(path).toContain("._by_category");
    // the sampled bytearrays sit in three lists of tuples under one dict: its retained size holds them all
    expect(top.retained_bytes).toBeGreaterThan(1200 * 400 * 0.5);
    expect(top.retainer_paths?.[0]?.objects).toBeGreaterThan(10);
    expect(report.heap?.objects).toBeGreaterThan(1000);
    expect(report.heap?.pause_seconds).toBeLessThan(0.5);
  });

  it("keeps no string contents in the capture unless asked", () => {
    const text = readFileSync(join(dir, "c.ltcap"), "utf8");
    expect(text).toContain('"k":"heap-graph"');
    // the graph is compressed: decode it through the CLI's own reader and look for the secret
    const dump = leaktrail(["heap", "c.ltcap", "--heapsnapshot", "h.heapsnapshot"]);
    expect(dump.code, dump.stderr).toBe(0);
    expect(readFileSync(join(dir, "h.heapsnapshot"), "utf8")).not.toContain("hunter2-");
    const withValues = leaktrail(["run", "-q", "--heap-graph", "exit", "--heap-values", "-o", "v.ltcap", "--", "python3", FIXTURE]);
    expect(withValues.code, withValues.stderr).toBe(0);
    expect(leaktrail(["heap", "v.ltcap", "--heapsnapshot", "v.heapsnapshot"]).code).toBe(0);
    expect(readFileSync(join(dir, "v.heapsnapshot"), "utf8")).toContain("hunter2-");
  });

  it("reads the capture's graph with `leaktrail heap`: the type table and --why", () => {
    const table = leaktrail(["heap", "c.ltcap"]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/bytearray/);
    const why = leaktrail(["heap", "c.ltcap", "--why", "bytearray", "--site", `${FIXTURE}:${markerLine(FIXTURE, "leak-site")}`]);
    expect(why.code, why.stderr).toBe(0);
    expect(why.stdout).toContain("INDEX");
  });

  it("takes no graph with --heap-graph off, and only one at exit with --heap-graph exit", () => {
    expect(leaktrail(["run", "-q", "--heap-graph", "off", "-o", "off.ltcap", "--", "python3", FIXTURE]).code).toBe(0);
    expect(captureLines("off.ltcap").filter((r) => r.k === "heap-graph")).toHaveLength(0);
    const exitOnly = captureLines("v.ltcap").filter((r) => r.k === "heap-graph");
    expect(exitOnly.map((r) => r.reason)).toEqual(["exit"]);
    const auto = captureLines("c.ltcap").filter((r) => r.k === "heap-graph");
    expect(auto.map((r) => r.reason)).toContain("growth");
    // the one at exit is skipped when a recent graph shows the same (test_heapgraph.py tests when)
    const exits = auto.filter((r) => r.reason === "exit");
    expect(exits.length).toBeLessThanOrEqual(1);
    if (exits.length === 1) expect(auto.at(-1)?.reason).toBe("exit");
  });
});
