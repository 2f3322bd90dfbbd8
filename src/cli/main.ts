import { attachCommand } from "./attach.js";
import { UsageError } from "./errors.js";
import { heapCommand } from "./heap.js";
import { reportCommand } from "./report.js";
import { flameCommand } from "./flame.js";
import { linesCommand } from "./lines.js";
import { profileCommand } from "./profile.js";
import { runCommand } from "./run.js";
import { serveCommand } from "./serve.js";
import { toolVersion } from "../collect/agent-path.js";

const COMMANDS: Record<string, { summary: string; run: (argv: string[]) => number | Promise<number> }> = {
  run: { summary: "run a command and find its memory leaks", run: runCommand },
  report: { summary: "analyse a capture file again", run: reportCommand },
  attach: { summary: "find the memory leaks of a running Python process", run: attachCommand },
  heap: { summary: "read a capture's heap graph: types, diffs, retainer paths, DOT, .heapsnapshot", run: heapCommand },
  serve: { summary: "show a capture's report live in a browser (127.0.0.1, with a token)", run: serveCommand },
  flame: { summary: "memory flame graph of a capture, or of what grew between two", run: flameCommand },
  lines: { summary: "memory allocated and kept by each line of chosen functions", run: linesCommand },
  profile: { summary: "CPU flame graph (svg, speedscope, pprof, folded) of a command or a process", run: profileCommand },
};

function help(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `leaktrail ${toolVersion()} — finds memory leaks in Python programs\n\nusage: leaktrail COMMAND [options]\n\ncommands:\n${rows.join("\n")}\n\n'leaktrail COMMAND --help' tells more.\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "-h" || name === "--help" || name === "help") {
    process.stdout.write(help());
    return name ? 0 : 2;
  }
  if (name === "--version" || name === "-V") {
    process.stdout.write(`${toolVersion()}\n`);
    return 0;
  }
  const command = COMMANDS[name];
  try {
    if (!command) throw new UsageError(`unknown command '${name}' (commands: ${Object.keys(COMMANDS).join(", ")})`);
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`leaktrail: ${err.message}\n`);
      return err.code;
    }
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`leaktrail: internal error: ${msg.split("\n")[0]} (please report it)\n`);
    return 70;
  }
}
