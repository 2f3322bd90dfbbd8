import { describe, expect, it } from "vitest";
import type { ObjSitesRecord, TypeOrigin } from "../../src/capture/format.js";
import type { ProcessData } from "../../src/analysis/model.js";
import { promoteClass, typeRanker } from "../../src/analysis/suspects.js";
import type { Suspect } from "../../src/report/schema.js";

function suspect(type_qualname: string, bytes: number): Suspect {
  return {
    site: { file: "app.py", line: 1, function: "f" },
    traceback: [],
    type: type_qualname.split(".").pop() ?? "",
    type_qualname,
    type_evidence: "object-traceback",
    count_growth: 100,
    size_growth_bytes: bytes,
    growth_bytes_per_s: 0,
    share: 0,
    retainers: [],
    pid: 1,
  };
}

function procWithOrigins(origins: Record<string, TypeOrigin>): ProcessData {
  const objsites: ObjSitesRecord[] = Object.entries(origins).map(([type, origin]) => ({
    k: "objsites", pid: 1, t: 0, type, instances: 1, sites: [], untraced: 0, gc: true, origin,
  }));
  return { objsites } as unknown as ProcessData;
}

describe("naming the leak after the type a person recognises", () => {
  const rank = typeRanker([
    procWithOrigins({ "__main__.Watcher": "user", "threading.Event": "library", "weakref.ReferenceType": "builtin" }),
  ]);

  it("ranks the program's own classes over a library's, and those over C types", () => {
    expect(rank("__main__.Watcher")).toBeGreaterThan(rank("threading.Event"));
    expect(rank("threading.Event")).toBeGreaterThan(rank("weakref.ReferenceType"));
    // a C type outside builtins, told apart only by the agent's origin
    expect(rank("weakref.ReferenceType")).toBe(rank("builtins.list"));
    // older captures carry no origin: "builtins." decides
    expect(rank("shop.Order")).toBeGreaterThan(rank("builtins.dict"));
  });

  it("puts the user's class first when it has a quarter of the top suspect's bytes", () => {
    const list = [suspect("weakref.ReferenceType", 1000), suspect("threading.Event", 600), suspect("__main__.Watcher", 300)];
    promoteClass(list, rank);
    expect(list.map((s) => s.type)).toEqual(["Watcher", "ReferenceType", "Event"]);
  });

  it("falls back to a library class when the user's is too small, and leaves a lone C type alone", () => {
    const list = [suspect("weakref.ReferenceType", 1000), suspect("threading.Event", 600), suspect("__main__.Watcher", 100)];
    promoteClass(list, rank);
    expect(list[0]?.type).toBe("Event");
    const alone = [suspect("builtins.bytes", 1000), suspect("builtins.list", 900)];
    promoteClass(alone, rank);
    expect(alone[0]?.type).toBe("bytes");
  });
});
