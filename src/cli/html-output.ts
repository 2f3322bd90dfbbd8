import { buildView, type ViewInput } from "../html/build-view.js";
import { writeHtmlReport } from "../html/page.js";
import { UsageError } from "./errors.js";

/** `--html FILE` of `run` and `report`: the page, or a one-line error when it cannot be written. */
export function writeHtmlFile(command: string, path: string, input: ViewInput): void {
  try {
    writeHtmlReport(path, buildView(input));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code) throw new UsageError(`${command}: cannot write the HTML report ${path}: ${(err as Error).message}`);
    throw err;
  }
}
