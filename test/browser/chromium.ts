/**
 * Headless Chromium for the browser tests: Debian's `chromium` package, driven by
 * playwright-core through `executablePath` (playwright's own browser downloads cannot be
 * had here). When the browser is missing and the tests run as root (CI), it is installed
 * with apt-get; otherwise the tests fail saying how to install it.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];
export const OUTPUT_DIR = fileURLToPath(new URL("../../.test-output/browser/", import.meta.url));

function apt(args: string[]): void {
  const r = spawnSync("apt-get", args, { encoding: "utf8", timeout: 10 * 60_000, env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  if (r.status !== 0) throw new Error(`apt-get ${args.join(" ")} failed: ${(r.stderr || r.stdout || r.error?.message || "").trim().split("\n").slice(-5).join("\n")}`);
}

export function chromiumPath(): string {
  const given = process.env.LEAKTRAIL_CHROMIUM;
  if (given) return given;
  const found = CANDIDATES.find((p) => existsSync(p));
  if (found) return found;
  if (process.getuid?.() !== 0) {
    throw new Error("the browser tests need Chromium: run 'apt-get install chromium' as root (or set LEAKTRAIL_CHROMIUM to a Chromium binary)");
  }
  apt(["update", "-qq"]);
  apt(["install", "-y", "-qq", "chromium"]);
  const installed = CANDIDATES.find((p) => existsSync(p));
  if (!installed) throw new Error("apt-get installed chromium, but no chromium binary is in /usr/bin");
  return installed;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

/** What a page said on its console and which requests it made, for assertions. */
export interface Watched {
  page: Page;
  errors: string[];
  requests: string[];
}

export async function watchedPage(browser: Browser, width = 1200, height = 900): Promise<Watched> {
  const page = await browser.newPage({ viewport: { width, height } });
  const errors: string[] = [];
  const requests: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") errors.push(`${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("request", (r) => requests.push(r.url()));
  return { page, errors, requests };
}

/** Saves a screenshot of `selector` under .test-output/browser/ and returns its PNG bytes. */
export async function screenshot(page: Page, selector: string, name: string): Promise<Buffer> {
  mkdirSync(OUTPUT_DIR, { recursive: true });
  return page.locator(selector).first().screenshot({ path: join(OUTPUT_DIR, name) });
}

/**
 * Share of a PNG's pixels that differ from its most common colour (the background), read
 * back by the browser itself (a canvas decodes the PNG; no image library needed). A chart
 * drawn as intended has lines, bars and labels on it; an empty or broken one has none.
 */
export async function inkShare(page: Page, png: Buffer): Promise<number> {
  return page.evaluate(async (b64) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const canvas = document.createElement("canvas");
    canvas.width = img.width;
    canvas.height = img.height;
    const ctx = canvas.getContext("2d");
    if (!ctx) return -1;
    ctx.drawImage(img, 0, 0);
    const data = ctx.getImageData(0, 0, img.width, img.height).data;
    const counts = new Map<number, number>();
    for (let i = 0; i < data.length; i += 4) {
      const key = (data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    const background = Math.max(...counts.values());
    const total = data.length / 4;
    return (total - background) / total;
  }, png.toString("base64"));
}
