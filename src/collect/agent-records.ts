import type { Socket } from "node:net";
import { deflateSync } from "node:zlib";
import type { CaptureRecord } from "../capture/format.js";
import type { CaptureWriter } from "../capture/writer.js";
import type { ModelBuilder } from "../analysis/model.js";
import { FunctionNames } from "./function-names.js";
import { LineSplitter } from "./line-splitter.js";

/**
 * Takes each record an agent sent: fills in function names on tracebacks (the agent sends
 * [file, line]; the capture keeps [file, line, function]), appends it to the capture as
 * it arrives and adds it to the live model. Shared by `run` and `attach`.
 */
export function recordKeeper(writer: CaptureWriter, builder: ModelBuilder): (record: CaptureRecord, line: string) => void {
  const functions = new FunctionNames();
  return (record, line) => {
    if (record.k === "tb") {
      record.frames = record.frames.map(([file, n]) => [file, n, functions.at(file, n)]);
      line = JSON.stringify(record);
    } else if (record.k === "heap-graph" && (record.encoding as string) === "base64") {
      // the agent's forked copy cannot compress (zlib would release the GIL there)
      record.data = deflateSync(Buffer.from(record.data, "base64"), { level: 1 }).toString("base64");
      record.encoding = "zlib";
      line = JSON.stringify(record);
    }
    writer.appendLine(line);
    builder.add(record);
  };
}

/** Reads one agent connection line by line and hands over each record with its line. */
export function readAgentRecords(socket: Socket, onRecord: (record: CaptureRecord, line: string) => void): void {
  const splitter = new LineSplitter();
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    for (const line of splitter.push(chunk)) {
      let record: CaptureRecord;
      try {
        record = JSON.parse(line) as CaptureRecord;
      } catch {
        continue; // an agent never sends a bad line; ignore rather than store it
      }
      onRecord(record, line);
    }
  });
}
