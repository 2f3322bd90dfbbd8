import { randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { renderPage } from "./page.js";
import type { View } from "./view-model.js";

/** Seconds between SSE comments that keep idle connections (and proxies) open. */
const KEEPALIVE_S = 15;

const COMMON_HEADERS = {
  "Cache-Control": "no-store",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
};

/**
 * The live page's server: 127.0.0.1 only, and every request must carry the random token
 * of the URL it printed (anyone else on the machine could otherwise read the program's
 * file names, source lines and dict keys). `/` is the page with the latest view inside,
 * `/events` a Server-Sent Events stream of views (the latest at once, then each update),
 * `/view.json` the latest view.
 */
export class LiveServer {
  readonly token = randomBytes(16).toString("hex");
  private latest: View;
  private readonly clients = new Set<ServerResponse>();
  private readonly server: Server;
  private keepalive: NodeJS.Timeout | null = null;
  private port = 0;

  constructor(initial: View) {
    this.latest = initial;
    this.server = createServer((req, res) => this.handle(req, res));
  }

  /** Listens on 127.0.0.1 (`port` 0: any free one); resolves with the URL to open. */
  listen(port = 0): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, "127.0.0.1", () => {
        this.server.off("error", reject);
        this.port = (this.server.address() as AddressInfo).port;
        this.keepalive = setInterval(() => {
          for (const c of this.clients) c.write(": keepalive\n\n");
        }, KEEPALIVE_S * 1000);
        this.keepalive.unref();
        resolve(this.url());
      });
    });
  }

  url(): string {
    return `http://127.0.0.1:${this.port}/?token=${this.token}`;
  }

  /** Sends a new view to every open page. */
  publish(view: View): void {
    this.latest = view;
    const frame = `event: view\ndata: ${JSON.stringify(view)}\n\n`;
    for (const c of this.clients) c.write(frame);
  }

  /** Ends every stream (pages keep what they were sent last) and stops listening. */
  close(): Promise<void> {
    if (this.keepalive) clearInterval(this.keepalive);
    for (const c of this.clients) c.end();
    this.clients.clear();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
      // streams just ended may still be flushing: give them a moment, then cut
      setTimeout(() => this.server.closeAllConnections(), 200).unref();
    });
  }

  private allowed(req: IncomingMessage, url: URL): boolean {
    const given = Buffer.from(url.searchParams.get("token") ?? "");
    const want = Buffer.from(this.token);
    if (given.length !== want.length || !timingSafeEqual(given, want)) return false;
    // a page of another site that got the token still cannot come in by a renamed host
    const host = req.headers.host ?? "";
    return host === `127.0.0.1:${this.port}` || host === `localhost:${this.port}`;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { ...COMMON_HEADERS, Allow: "GET, HEAD", "Content-Type": "text/plain" }).end("method not allowed\n");
      return;
    }
    if (!this.allowed(req, url)) {
      res.writeHead(403, { ...COMMON_HEADERS, "Content-Type": "text/plain" }).end("forbidden: open the URL leaktrail printed, with its token\n");
      return;
    }
    switch (url.pathname) {
      case "/":
        res.writeHead(200, { ...COMMON_HEADERS, "Content-Type": "text/html; charset=utf-8" }).end(renderPage(this.latest));
        return;
      case "/view.json":
        res.writeHead(200, { ...COMMON_HEADERS, "Content-Type": "application/json" }).end(JSON.stringify(this.latest));
        return;
      case "/events": {
        res.writeHead(200, { ...COMMON_HEADERS, "Content-Type": "text/event-stream", Connection: "keep-alive" });
        res.write(`retry: 2000\n\nevent: view\ndata: ${JSON.stringify(this.latest)}\n\n`);
        if (this.latest.live?.state === "ended") {
          res.end();
          return;
        }
        this.clients.add(res);
        req.on("close", () => this.clients.delete(res));
        return;
      }
      default:
        res.writeHead(404, { ...COMMON_HEADERS, "Content-Type": "text/plain" }).end("not found\n");
    }
  }
}
