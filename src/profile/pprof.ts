/**
 * pprof's format: a gzipped `perftools.profiles.Profile` message (github.com/google/pprof,
 * proto/profile.proto), which `go tool pprof`, Pyroscope and Grafana read. Every value
 * column becomes a sample type; a location is a function at a line (no addresses: Python
 * frames have none, so no mappings either); each sample carries `pid` and `thread` labels.
 * Field numbers below are profile.proto's.
 */
import { gzipSync } from "node:zlib";
import type { Profile } from "./model.js";
import { ProtoWriter } from "./protobuf-writer.js";

class StringTable {
  readonly strings: string[] = [""]; // index 0 must be ""
  private readonly ids = new Map<string, number>([["", 0]]);
  id(s: string): number {
    let id = this.ids.get(s);
    if (id === undefined) {
      id = this.strings.length;
      this.strings.push(s);
      this.ids.set(s, id);
    }
    return id;
  }
}

/** The encoded (not yet gzipped) Profile message. */
export function encodePprof(profile: Profile): Uint8Array {
  const st = new StringTable();
  const w = new ProtoWriter();
  // 1: sample_type (ValueType: 1 type, 2 unit)
  for (const vt of profile.valueTypes) {
    w.message(1, (m) => {
      m.int(1, st.id(vt.type));
      m.int(2, st.id(vt.unit));
    });
  }
  // 2: sample (1 location_id packed, leaf first; 2 value packed; 3 label)
  const pidKey = st.id("pid");
  const threadKey = st.id("thread");
  for (const s of profile.samples) {
    w.message(2, (m) => {
      m.packed(
        1,
        [...s.stack].reverse().map((id) => id + 1),
      );
      m.packed(2, s.values.map((v) => Math.round(v)));
      m.message(3, (l) => {
        l.int(1, pidKey);
        l.int(3, s.pid);
      });
      m.message(3, (l) => {
        l.int(1, threadKey);
        l.int(2, st.id(s.thread));
      });
    });
  }
  // 4: location (1 id, 4 line: Line{1 function_id, 2 line}); ids are frame index + 1 (0 is invalid)
  profile.frames.forEach((f, i) => {
    w.message(4, (m) => {
      m.int(1, i + 1);
      m.message(4, (l) => {
        l.int(1, f.fn + 1);
        l.int(2, f.line);
      });
    });
  });
  // 5: function (1 id, 2 name, 3 system_name, 4 filename, 5 start_line). `go tool pprof`
  // strips <…> from names as C++ template arguments, which turns Python's <module>,
  // <listcomp>, <lambda> into "<unknown>": the display name uses ‹…› instead, the system
  // name keeps Python's own.
  profile.functions.forEach((f, i) => {
    w.message(5, (m) => {
      m.int(1, i + 1);
      m.int(2, st.id(f.name.replace(/</g, "‹").replace(/>/g, "›")));
      m.int(3, st.id(f.name));
      m.int(4, st.id(f.file));
      m.int(5, f.startLine);
    });
  });
  // 9 time_nanos, 10 duration_nanos, 11 period_type, 12 period, 14 default_sample_type
  const periodType = profile.valueTypes[profile.defaultValue]!;
  const comment = st.id(`leaktrail: ${profile.name}`);
  const defaultType = st.id(periodType.type);
  const strings = st.strings;
  // 6: string_table — written after every id was taken
  for (const s of strings) w.string(6, s);
  w.int(9, Math.round(profile.startNs));
  w.int(10, Math.round(profile.durationNs));
  w.message(11, (m) => {
    m.int(1, st.id(periodType.type));
    m.int(2, st.id(periodType.unit));
  });
  w.int(12, Math.round(profile.periodNs));
  w.packed(13, [comment]);
  w.int(14, defaultType);
  return w.finish();
}

export function toPprofGz(profile: Profile): Buffer {
  return gzipSync(encodePprof(profile));
}
