import { appendFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CaptureFollower } from "../../src/capture/follow.js";
import { pendingView } from "../../src/html/build-view.js";
import { LiveServer } from "../../src/html/live-server.js";
import { HEADER } from "./synthetic.js";

const servers: LiveServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

function view(explanation: string) {
  const v = pendingView(["python3", "app.py"], "/srv", null, { state: "running", updated: 1 });
  v.verdict.explanation = explanation;
  return v;
}

/** GET with a chosen Host header (fetch does not let one set it). */
function get(url: string, host?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: host ? { host } : {} }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end();
  });
}

describe("LiveServer", () => {
  it("answers 403 without the token or from another host name, 200 with it", async () => {
    const s = new LiveServer(view("first"));
    servers.push(s);
    const url = await s.listen();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{32}$/);
    const base = url.slice(0, url.indexOf("?"));
    expect(await get(base)).toBe(403);
    expect(await get(`${base}?token=${s.token.slice(0, -1)}x`)).toBe(403);
    expect(await get(`${base}view.json?token=`)).toBe(403);
    expect(await get(url, "evil.example:80")).toBe(403);
    expect(await get(url)).toBe(200);
    expect(await get(url.replace("/?", "/nothing?"))).toBe(404);
    const page = await (await fetch(url)).text();
    expect(page).toContain("first");
  });

  it("streams the latest view at once and every published one after", async () => {
    const s = new LiveServer(view("first"));
    servers.push(s);
    const url = await s.listen();
    const res = await fetch(url.replace("/?", "/events?"));
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const reader = res.body!.getReader();
    let text = "";
    const until = async (needle: string) => {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${needle}`);
        text += new TextDecoder().decode(value);
      }
    };
    await until('"explanation":"first"');
    s.publish(view("second"));
    await until('"explanation":"second"');
    const ended = view("final");
    ended.live = { state: "ended", updated: 2 };
    s.publish(ended);
    await s.close();
    servers.pop();
    await until('"explanation":"final"');
    expect((await reader.read()).done).toBe(true);
  });
});

describe("CaptureFollower", () => {
  it("returns records as lines complete, never a half-written one", () => {
    const path = join(mkdtempSync(join(tmpdir(), "lt-follow-")), "c.ltcap");
    writeFileSync(path, JSON.stringify(HEADER) + "\n");
    const f = new CaptureFollower(path);
    expect(f.poll()).toEqual([]);
    expect(f.header?.command).toEqual(HEADER.command);
    const bye = JSON.stringify({ k: "bye", pid: 1, t: 2 });
    appendFileSync(path, bye.slice(0, 10));
    expect(f.poll()).toEqual([]);
    appendFileSync(path, `${bye.slice(10)}\n{"k":"nonsense"}\n{"k":"bye","pid":2,"t":3}\n`);
    expect(f.poll().map((r) => (r as { pid: number }).pid)).toEqual([1, 2]);
  });

  it("says clearly when the file is not a capture", () => {
    const path = join(mkdtempSync(join(tmpdir(), "lt-follow-")), "x.txt");
    writeFileSync(path, "hello\n");
    expect(() => new CaptureFollower(path).poll()).toThrow(/not a leaktrail capture/);
    expect(() => new CaptureFollower(`${path}.missing`).poll()).toThrow(/no such capture file/);
  });
});
