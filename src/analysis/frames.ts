import { isAbsolute, normalize, relative, sep } from "node:path";
import type { Frame } from "../capture/format.js";
import type { SiteRef } from "../report/schema.js";

/** Decides which frames are the user's own code and how to show their paths. */
export class FrameClassifier {
  constructor(private readonly libraryPaths: string[], private readonly cwd: string) {}

  isLibrary(file: string): boolean {
    if (file.startsWith("<")) return true; // <frozen importlib._bootstrap>, <string>, <stdin>
    return this.libraryPaths.some((p) => file === p || file.startsWith(p.endsWith(sep) ? p : p + sep));
  }

  /** The innermost frame in the user's code, or null when every frame is library code. */
  userFrame(frames: Frame[]): Frame | null {
    for (const f of frames) if (!this.isLibrary(f[0])) return f;
    return null;
  }

  display(file: string): string {
    if (!isAbsolute(file)) return file;
    const rel = relative(this.cwd, file);
    return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : normalize(file);
  }

  site(frame: Frame): SiteRef {
    return { file: this.display(frame[0]), line: frame[1], function: frame[2] };
  }

  traceback(frames: Frame[]): SiteRef[] {
    return frames.map((f) => this.site(f));
  }
}

export function siteKey(frame: Frame): string {
  return `${frame[0]}:${frame[1]}`;
}

/** "pkg.mod.Outer.Inner" → "Inner": what `type(o).__name__` says. */
export function shortTypeName(qualname: string): string {
  const i = qualname.lastIndexOf(".");
  return i >= 0 ? qualname.slice(i + 1) : qualname;
}

export function isBuiltinType(qualname: string): boolean {
  return qualname.startsWith("builtins.");
}
