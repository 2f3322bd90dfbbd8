/**
 * The line table is printed by two renderers: the CLI's (src/profile/lines-table.ts) and
 * the decorator's (python/leaktrail/lines.py, format_table). Same results, same text.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { RawLines } from "../../src/profile/lines-raw.js";
import { renderLines } from "../../src/profile/lines-table.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SOURCE = fileURLToPath(new URL("../fixtures/lines_alloc.py", import.meta.url));

const results: RawLines = {
  schema: "leaktrail.lines/1",
  pid: 1,
  python: "3.11.7",
  argv: ["lines_alloc.py"],
  mode: "settrace",
  frames: 16,
  functions: [
    {
      spec: "__main__:Store.handle",
      name: "Store.handle",
      file: SOURCE,
      first_line: 12,
      last_line: 16,
      calls: 20,
      lines: [
        [13, 20, 2_001_120, 2_000_000, 0, 0],
        [14, 20, 1_700_000, 1_650_000, 102, 2],
        [15, 20, 1_000_560, 1_000_000, 1_000_560, 21],
        [16, 20, 492, -32, 0, 0],
      ],
    },
    { spec: "x.py:build", name: "build", file: SOURCE, first_line: 7, last_line: 8, calls: 1, lines: [[8, 1, 999, 999, 999, 1]] },
  ],
  unmatched: [],
  unattributed: [0, 0],
  errors: [],
};

describe("the line table", () => {
  it("the CLI and the decorator print the same text for the same results", () => {
    const py = spawnSync("python3", ["-c", "import json, sys\nfrom leaktrail.lines import format_table\nsys.stdout.write(format_table(json.load(sys.stdin)))"], {
      input: JSON.stringify(results),
      encoding: "utf8",
      env: { ...process.env, PYTHONPATH: `${ROOT}python` },
    });
    expect(py.status, py.stderr).toBe(0);
    const ts = renderLines(results);
    expect(ts).toContain("CACHE[key] = bytes(size // 2)  # KEEP-LINE");
    expect(ts).toMatch(/^\s+15\s+20\s+1\.0 MB\s+1\.0 MB\s+1\.0 MB\s+21\s{2}/m);
    expect(ts).toBe(py.stdout);
  });
});
