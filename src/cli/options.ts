import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "./errors.js";

/** One typed table per command: parsing, defaults and help text all come from it. */
export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  value?: string;
  help: string;
}

export type OptionTable = Record<string, OptionSpec>;

export function helpFor(usage: string, summary: string, table: OptionTable): string {
  const rows = Object.entries(table).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : "    "}--${name}${o.type === "string" ? ` ${o.value ?? "VALUE"}` : ""}`;
    return `  ${flag.padEnd(30)} ${o.help}`;
  });
  return `usage: ${usage}\n\n${summary}\n\noptions:\n${rows.join("\n")}\n`;
}

export type OptionValues<T extends OptionTable> = {
  [K in keyof T]?: T[K]["type"] extends "string" ? string : boolean;
};

export function parseOptions<T extends OptionTable>(
  command: string,
  argv: string[],
  table: T,
): { values: OptionValues<T>; positionals: string[] } {
  const options: NonNullable<ParseArgsConfig["options"]> = {};
  for (const [name, o] of Object.entries(table)) options[name] = o.short ? { type: o.type, short: o.short } : { type: o.type };
  try {
    const parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: parsed.values as OptionValues<T>, positionals: parsed.positionals };
  } catch (err) {
    const raw = (err as Error).message;
    const unknown = /Unknown option '([^']+)'/.exec(raw);
    // node's messages run on with advice about positionals; keep their first sentence
    const msg = unknown ? `unknown option '${unknown[1]}'` : (raw.split(/\.\s|\n/)[0] ?? "bad arguments").replace(/^\w/, (c) => c.toLowerCase());
    throw new UsageError(`${command}: ${msg} (see 'leaktrail ${command} --help')`);
  }
}

export function numberOption(command: string, name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min || v > max) {
    throw new UsageError(`${command}: --${name} must be a number from ${min} to ${max}, not '${raw}'`);
  }
  return v;
}
