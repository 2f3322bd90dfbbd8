import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { makeSocketDir, removeStaleSocketDirs } from "../../src/collect/socket-dir.js";

const base = mkdtempSync(join(tmpdir(), "socket-dir-test-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe("socket folders left by a killed CLI", () => {
  it("are removed when their CLI's pid is gone; live ones, and anything not named like ours, stay", () => {
    const dead = spawnSync("true").pid as number; // reaped: no process has this pid now
    const stale = join(base, `leaktrail-${dead}-AbC123`);
    mkdirSync(stale);
    writeFileSync(join(stale, "agent.sock"), "");
    const live = join(base, `leaktrail-${process.pid}-XyZ789`);
    mkdirSync(live);
    const other = join(base, "leaktrail-notours");
    mkdirSync(other);
    const file = join(base, `leaktrail-${dead}-qqqqqq`);
    writeFileSync(file, "a capture, say");

    removeStaleSocketDirs(base);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(other)).toBe(true);
    expect(existsSync(file)).toBe(true);
  });

  it("names a new folder after this CLI's pid", () => {
    const dir = makeSocketDir(base);
    expect(basename(dir)).toMatch(new RegExp(`^leaktrail-${process.pid}-[A-Za-z0-9]{6}$`));
    expect(existsSync(dir)).toBe(true);
  });
});
