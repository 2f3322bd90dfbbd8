import { writeFileSync } from "node:fs";
import type { Report } from "./schema.js";

export function writeReportJson(path: string, report: Report): void {
  writeFileSync(path, JSON.stringify(report, null, 2) + "\n");
}
