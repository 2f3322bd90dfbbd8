import { readFileSync } from "node:fs";

/**
 * The page's script: the compiled files of src/html/client/ joined into one classic
 * script, inline in the page (a report must open offline, from a file, with no module
 * loader). The files follow a convention that makes joining them a matter of dropping
 * their `import` lines and `export` keywords: top-level functions and constants only,
 * names unique across the files. Read from dist/ (tsc's output; `npm run build` makes
 * it), whether this module runs from dist/ or from src/ under the test runner.
 */
const CLIENT_DIR = new URL("../../dist/html/client/", import.meta.url);
const FILES = ["dom.js", "timeline.js", "flame-chart.js", "retainer-chart.js", "gc-chart.js", "cards.js", "sections.js", "app.js"];

let cached: string | null = null;

export function joinClientModules(sources: Array<{ name: string; text: string }>): string {
  const parts = sources.map(({ name, text }) => {
    const body = text
      .replace(/^import\s[\s\S]*?\sfrom\s+["'][^"']+["'];?[ \t]*$/gm, "")
      .replace(/^import\s+["'][^"']+["'];?[ \t]*$/gm, "")
      .replace(/^export\s*\{\s*\};?[ \t]*$/gm, "")
      .replace(/^export\s+(?=(async\s+)?function\b|const\b|let\b|class\b)/gm, "");
    const left = /^\s*(import|export)\b.*$/m.exec(body);
    if (left) throw new Error(`client/${name}: cannot inline "${left[0].trim()}" (see client-bundle.ts)`);
    return `// ${name}\n${body.trim()}`;
  });
  return `(function () {\n"use strict";\n${parts.join("\n\n")}\nleaktrailMain();\n})();`;
}

export function clientScript(): string {
  if (cached !== null) return cached;
  const sources = FILES.map((name) => {
    try {
      return { name, text: readFileSync(new URL(name, CLIENT_DIR), "utf8") };
    } catch {
      throw new Error(`the page script dist/html/client/${name} is missing: run 'npm run build'`);
    }
  });
  cached = joinClientModules(sources);
  return cached;
}
