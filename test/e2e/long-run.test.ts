/**
 * A long run, compressed in time: LEAKTRAIL_AGE_SCALE=0.05 makes the agent age twenty
 * times faster (its sparser schedules begin after 3 s instead of a minute), so 24 s stand
 * for about eight minutes. The capture's growth once the schedule has thinned must stay
 * under 10 MB an hour, and the verdict must still name the leak.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CLI = join(ROOT, "bin", "leaktrail");
const FIXTURE = join(ROOT, "test", "fixtures", "long_leak.py");

function leakLine(): number {
  return readFileSync(FIXTURE, "utf8").split("\n").findIndex((l) => l.includes("# LEAK-SITE")) + 1;
}

describe("a long run", () => {
  it("keeps the capture small once the schedule thins, and still names the leak", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lt-long-"));
    const capture = join(dir, "c.ltcap");
    const report = join(dir, "r.json");
    const child = spawn(CLI, ["run", "-q", "-o", capture, "--json", report, "--", "python3", FIXTURE, "24"], {
      cwd: dir,
      env: { ...process.env, LEAKTRAIL_AGE_SCALE: "0.05", LEAKTRAIL_LIVE_EVERY: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const sizes: Array<[number, number]> = [];
    const partials: Array<{ partial?: boolean; verdict: { leak: boolean } }> = [];
    const started = Date.now();
    const timer = setInterval(() => {
      try {
        sizes.push([(Date.now() - started) / 1000, statSync(capture).size]);
        if ((Date.now() - started) / 1000 > 16 && partials.length === 0) partials.push(JSON.parse(readFileSync(report, "utf8")));
      } catch {
        // not created yet
      }
    }, 1000);
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    clearInterval(timer);
    expect(code).toBe(0);
    const late = sizes.filter(([t]) => t >= 10 && t <= 22);
    expect(late.length).toBeGreaterThan(5);
    const [t0, s0] = late[0]!;
    const [t1, s1] = late[late.length - 1]!;
    const bytesPerHour = ((s1 - s0) / (t1 - t0)) * 3600;
    expect(bytesPerHour).toBeLessThan(10e6);
    // the verdict updated during the run: a partial report was there before the end
    expect(partials[0]?.partial).toBe(true);
    expect(partials[0]?.verdict.leak).toBe(true);
    const r = JSON.parse(readFileSync(report, "utf8"));
    expect(r.partial).toBeUndefined();
    expect(r.verdict.leak).toBe(true);
    expect(r.verdict.kind).toBe("python-reachable");
    expect(r.suspects[0].site.line).toBe(leakLine());
    expect(r.suspects[0].type).toBe("bytes");
  }, 90_000);
});
