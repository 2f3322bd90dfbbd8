import { resolve } from "node:path";
import { ModelBuilder, type CaptureModel } from "../analysis/model.js";
import { CaptureFollower } from "../capture/follow.js";
import { CaptureError } from "../capture/reader.js";
import { LiveFeed, viewOf } from "../html/live-feed.js";
import { LiveServer } from "../html/live-server.js";
import { UsageError } from "./errors.js";
import { helpFor, numberOption, parseOptions, type OptionTable } from "./options.js";

export const SERVE_OPTIONS = {
  port: { type: "string", value: "N", help: "port on 127.0.0.1 (default: any free one)" },
  help: { type: "boolean", short: "h", help: "show this help" },
} satisfies OptionTable;

const USAGE = "leaktrail serve [options] CAPTURE";
const SUMMARY =
  "Serves the HTML report of a capture on 127.0.0.1 at a URL with a random token, until Ctrl-C.\nA capture that is still growing (a run in progress) is followed: open pages update as it grows.";

/** Milliseconds between looks at the capture file for appended records. */
const POLL_MS = 500;

/** The run is over once the CLI wrote how the command ended, or that it stopped it. */
const ended = (m: CaptureModel) => m.childExit !== null || m.cliStop !== null;

export async function serveCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions("serve", argv, SERVE_OPTIONS);
  if (values.help) {
    process.stdout.write(helpFor(USAGE, SUMMARY, SERVE_OPTIONS));
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`serve: give exactly one capture file (usage: ${USAGE})`);
  const port = numberOption("serve", "port", values.port, 0, 0, 65535);
  const path = resolve(positionals[0] as string);
  const follower = new CaptureFollower(path);
  let first;
  try {
    first = follower.poll();
  } catch (err) {
    if (err instanceof CaptureError) throw new UsageError(`serve: ${err.message}`);
    throw err;
  }
  if (!follower.header) throw new UsageError(`serve: ${path} is not a leaktrail capture (it has no complete header line)`);
  const builder = new ModelBuilder(follower.header);
  for (const r of first) builder.add(r);
  const snapshot = () => builder.build();
  const state = () => (ended(snapshot()) ? "ended" : "running");

  const server = new LiveServer(viewOf(snapshot(), path, state()));
  let url: string;
  try {
    url = await server.listen(port);
  } catch (err) {
    throw new UsageError(`serve: cannot listen on 127.0.0.1:${port}: ${(err as Error).message}`);
  }
  process.stdout.write(`leaktrail: serving ${path}\n  ${url}\n(Ctrl-C stops)\n`);

  const feed = new LiveFeed(snapshot, (v) => server.publish(v), path, ended);
  feed.start();
  const poll = setInterval(() => {
    try {
      const records = follower.poll();
      for (const r of records) builder.add(r);
      if (records.length > 0) feed.changed();
    } catch (err) {
      process.stderr.write(`leaktrail: serve: ${(err as Error).message}; still serving what was read\n`);
      clearInterval(poll);
    }
  }, POLL_MS);

  await new Promise<void>((resolveStop) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolveStop();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  clearInterval(poll);
  feed.stop();
  await server.close();
  return 0;
}
