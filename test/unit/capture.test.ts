import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CaptureError, parseCapture, readCapture } from "../../src/capture/reader.js";
import { CaptureWriter } from "../../src/capture/writer.js";
import { FunctionNames } from "../../src/collect/function-names.js";
import { LineSplitter } from "../../src/collect/line-splitter.js";
import { FrameClassifier } from "../../src/analysis/frames.js";

describe("capture files", () => {
  it("round-trips records through the writer and reader", () => {
    const path = join(mkdtempSync(join(tmpdir(), "lt-")), "c.ltcap");
    const w = new CaptureWriter(path, { created: 1, command: ["x"], cwd: "/", tool_version: "t" });
    w.append({ k: "bye", pid: 1, t: 2 });
    w.appendLine('{"k":"child-exit","t":3,"code":0,"signal":null}');
    w.close();
    const c = readCapture(path);
    expect(c.header.command).toEqual(["x"]);
    expect(c.records.map((r) => r.k)).toEqual(["bye", "child-exit"]);
    expect(c.truncated).toBe(false);
    expect(readFileSync(path, "utf8").endsWith("\n")).toBe(true);
  });

  it("drops a torn last line and says so", () => {
    const text = '{"schema":"leaktrail.capture/1","created":1,"command":[],"cwd":"/","tool_version":"t"}\n{"k":"bye","pid":1,"t":2}\n{"k":"sam';
    const c = parseCapture(text);
    expect(c.records).toHaveLength(1);
    expect(c.truncated).toBe(true);
  });

  it("refuses what is not a capture with a one-line reason", () => {
    expect(() => parseCapture("")).toThrow(CaptureError);
    expect(() => parseCapture("hello world\n")).toThrow(/not a leaktrail capture/);
    expect(() => parseCapture('{"schema":"other/9"}\n')).toThrow(/schema other\/9/);
    expect(() => readCapture("/nonexistent/x.ltcap")).toThrow(/no such capture file/);
  });

  it("skips unknown record kinds and corrupt lines in the middle", () => {
    const text = '{"schema":"leaktrail.capture/1","created":1,"command":[],"cwd":"/","tool_version":"t"}\n{"k":"future-kind"}\nnot json\n{"k":"bye","pid":1,"t":2}\n';
    const c = parseCapture(text);
    expect(c.records.map((r) => r.k)).toEqual(["bye"]);
    expect(c.skipped).toBe(2);
  });
});

describe("stream and frames", () => {
  it("splits lines across chunk boundaries", () => {
    const s = new LineSplitter();
    expect(s.push('{"a":1}\n{"b"')).toEqual(['{"a":1}']);
    expect(s.push(':2}\n')).toEqual(['{"b":2}']);
    expect(s.rest()).toBe("");
  });

  it("finds the enclosing function of a line from source indentation", () => {
    const dir = mkdtempSync(join(tmpdir(), "lt-"));
    const file = join(dir, "m.py");
    writeFileSync(
      file,
      ["import os", "", "class A:", "    x = [1]", "    def f(self):", "        if True:", "            return [2]", "", "y = 3", "async def g():", "    return 4"].join("\n"),
    );
    const names = new FunctionNames();
    expect(names.at(file, 1)).toBe("<module>");
    expect(names.at(file, 4)).toBe("A");
    expect(names.at(file, 7)).toBe("f");
    expect(names.at(file, 9)).toBe("<module>");
    expect(names.at(file, 11)).toBe("g");
    expect(names.at("<frozen importlib._bootstrap>", 5)).toBe("<module>");
  });

  it("tells user code from library code and shows paths relative to the run", () => {
    const f = new FrameClassifier(["/usr/lib/python3.11", "/venv/lib/python3.11/site-packages"], "/srv/app");
    expect(f.isLibrary("/usr/lib/python3.11/json/decoder.py")).toBe(true);
    expect(f.isLibrary("/venv/lib/python3.11/site-packages/flask/app.py")).toBe(true);
    expect(f.isLibrary("/usr/lib/python3.11x/evil.py")).toBe(false);
    expect(f.isLibrary("<string>")).toBe(true);
    expect(f.userFrame([["/usr/lib/python3.11/logging/__init__.py", 10, "getLogger"], ["/srv/app/h.py", 11, "handle"]])).toEqual(["/srv/app/h.py", 11, "handle"]);
    expect(f.display("/srv/app/pkg/h.py")).toBe("pkg/h.py");
    expect(f.display("/srv/app/../other/x.py")).toBe("/srv/other/x.py");
  });
});
