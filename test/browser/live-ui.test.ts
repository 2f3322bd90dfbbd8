/**
 * `leaktrail run --ui` in a real browser: a leaky program runs for several seconds, the
 * page opened at the printed URL updates while it runs (more renders, a longer
 * timeline), names the leak, and holds the final view once the run ends. Without the
 * URL's token the server answers 403.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { fixture, markerLine } from "../e2e/helpers.js";
import { startCli } from "./cli.js";
import { inkShare, launchChromium, screenshot, watchedPage } from "./chromium.js";

let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
}, 15 * 60_000);

afterAll(async () => {
  await browser?.close();
});

it("updates live while a leaky program runs, then keeps the final verdict", async () => {
  const dir = mkdtempSync(join(tmpdir(), "lt-live-"));
  fixture(dir, "long_leak.py");
  const line = markerLine("long_leak.py", "LEAK-SITE");
  const cli = startCli(["run", "--ui", "-q", "--", "python3", "long_leak.py", "10"], dir, { LEAKTRAIL_UI_EVERY_MS: "300" });
  const [url] = await cli.waitFor(/http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{32}/, 20_000);
  expect((await fetch(url.slice(0, url.indexOf("?")))).status).toBe(403);
  expect((await fetch(url.replace(/token=[0-9a-f]+/, "token=nope"))).status).toBe(403);

  const w = await watchedPage(browser);
  await w.page.goto(url);
  await w.page.waitForSelector("html[data-live-state='running']", { timeout: 20_000 });
  const renders = () => w.page.locator("html").getAttribute("data-rendered").then(Number);
  // seconds measured, as the timeline's caption says; the page updates it as samples arrive
  const measuredIn = () => Number(/([\d.]+) s measured/.exec(document.querySelector("#timeline .note")?.textContent ?? "")?.[1] ?? 0);
  await w.page.waitForFunction(measuredIn, undefined, { timeout: 30_000 });
  const first = { renders: await renders(), measured: await w.page.evaluate(measuredIn) };
  await w.page.waitForFunction(
    ([n, m]) => {
      const s = Number(/([\d.]+) s measured/.exec(document.querySelector("#timeline .note")?.textContent ?? "")?.[1] ?? 0);
      return Number(document.documentElement.getAttribute("data-rendered")) >= n + 2 && s > m;
    },
    [first.renders, first.measured] as const,
    { timeout: 30_000 },
  );
  // it grew while the program still ran
  expect(await w.page.locator("html").getAttribute("data-live-state")).toBe("running");
  await screenshot(w.page, "body", "live-running.png");

  await w.page.waitForSelector("html[data-live-state='ended']", { timeout: 60_000 });
  expect(await cli.exited).toBe(0);
  await expect(w.page.locator("#verdict .verdict-word").textContent()).resolves.toBe("LEAK (python-reachable)");
  await expect(w.page.locator("article.suspect[data-rank='1'] .site").textContent()).resolves.toBe(`long_leak.py:${line}`);
  await expect(w.page.locator("#live-status").textContent()).resolves.toContain("run ended");
  const png = await screenshot(w.page, "#timeline", "live-ended-timeline.png");
  expect(await inkShare(w.page, png)).toBeGreaterThan(0.02);
  expect(w.errors).toEqual([]);
  await w.page.close();
});
