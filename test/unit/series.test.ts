import { describe, expect, it } from "vitest";
import { levelWindows } from "../../src/analysis/series.js";
import { theilSen } from "../../src/analysis/stats.js";

const xs = Array.from({ length: 80 }, (_, i) => i * 0.1);

describe("levelWindows: a tracing window's own step is taken out of the block series", () => {
  it("removes a step left by closing a window and keeps the program's slope", () => {
    const windows: Array<[number, number]> = [[2, 2.3], [5, 5.4]];
    const ys = xs.map((x) => 1000 + 100 * x + (x > 2.3 ? 5000 : 0) + (x > 5.4 ? 7000 : 0) + (x * 37 % 1) * 20);
    const raw = theilSen(xs, ys).slope;
    const leveled = levelWindows({ xs, ys }, windows);
    expect(raw).toBeGreaterThan(1000); // the steps pass for steep growth before levelling
    expect(theilSen(leveled.xs, leveled.ys).slope).toBeCloseTo(100, -1);
    // no point from inside a window is left
    expect(leveled.xs.some((x) => (x >= 2 && x <= 2.35) || (x >= 5 && x <= 5.45))).toBe(false);
    const last = leveled.ys[leveled.ys.length - 1] as number;
    expect(Math.abs(last - (1000 + 100 * 7.9))).toBeLessThan(200);
  });

  it("leaves a steady leak without steps as it was", () => {
    const ys = xs.map((x) => 1000 + 300 * x);
    const leveled = levelWindows({ xs, ys }, [[3, 3.2]]);
    leveled.xs.forEach((x, i) => expect(leveled.ys[i]).toBeCloseTo(1000 + 300 * x, 6));
  });

  it("does nothing where a window has too few points around it", () => {
    const ys = xs.map((x) => 1000 + (x > 0.2 ? 5000 : 0));
    expect(levelWindows({ xs, ys }, [[0.1, 0.2]])).toEqual({ xs, ys });
  });
});
