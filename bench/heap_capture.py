"""Heap graphs of real Python heaps: leaktrail's capture and analysis beside guppy3 and objgraph.

    python3 bench/heap_capture.py [--sizes 100000,1000000,3000000] [--python PY] [--no-peers]

For each size, bench/workload_heap.py builds a heap of about that many objects (records in
lists in a module-level index: a service's leak) and then, in separate processes:

- plain: builds and exits (the baseline for leaktrail's extra wall time);
- leaktrail: `leaktrail run --heap-graph exit` over the same program: the fork's pause, the
  copy's walk and its memory (from the capture's heap-graph record), the analysis the
  report did (`heap.analysis_seconds`), then `leaktrail heap CAP` (the by-type table with
  retained sizes, like guppy3's hp.heap()) and `leaktrail heap CAP --why Record` (retainer
  paths, like objgraph's find_backref_chain), each timed with its peak memory;
- guppy3: `hpy().heap()` and its printed table, in the program, after building;
- objgraph: `find_backref_chain(record, is_proper_module)` for one record.

guppy3 and objgraph are pip-installed into the benchmark virtualenv bench/.venv (as the
other peers are); they are never dependencies of leaktrail.  Standard library only.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import run  # noqa: E402  (bench/run.py: the virtualenv, the build, versions)

WORKLOAD = os.path.join(run.HERE, "workload_heap.py")
PEERS = {"guppy": "guppy3", "objgraph": "objgraph"}
MB = 1 << 20


def timed(cmd, timeout):
    """Runs cmd; returns (wall seconds, exit code, stdout, peak RSS of the process in bytes)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, cwd=run.ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.01)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        text, errors = out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace")
    if proc.returncode != 0:
        run.log("    exit %s: %s" % (proc.returncode, " | ".join(errors.strip().splitlines()[-3:])))
    # ru_maxrss (kB) of a reaped child covers the children it reaped too: for the CLI's `heap`
    # command there are none, so it is node's own peak
    return seconds, proc.returncode, text, usage.ru_maxrss * 1024


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        try:
            return json.loads(line)
        except ValueError:
            continue
    return {}


def graph_record(capture):
    found = None
    with open(capture, encoding="utf-8") as f:
        for line in f:
            if line.startswith('{"k":"heap-graph"') or '"k":"heap-graph",' in line[:200]:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if record.get("k") == "heap-graph":
                    found = record
    return found


def one_size(py, n, peers, timeout, tmp):
    row = {"n": n}
    run.log("  %d objects: plain" % n)
    seconds, rc, out, _ = timed([py, WORKLOAD, str(n), "hold"], timeout)
    row["plain_s"] = seconds if rc == 0 else None
    row["built"] = last_json(out)

    cap, rep = os.path.join(tmp, "heap-%d.ltcap" % n), os.path.join(tmp, "heap-%d.json" % n)
    run.log("  %d objects: leaktrail run --heap-graph exit" % n)
    seconds, rc, out, _ = timed([run.CLI, "run", "-q", "--heap-graph", "exit", "-o", cap, "--json", rep, "--",
                                 py, WORKLOAD, str(n), "hold"], timeout)
    row["leaktrail_s"] = seconds if rc == 0 else None
    record = graph_record(cap) if os.path.exists(cap) else None
    if record:
        row["graph"] = {k: record.get(k) for k in ("objects", "edges", "pause_seconds", "capture_seconds", "payload_bytes",
                                                   "copy_start_rss_bytes", "copy_peak_rss_bytes")}
    try:
        with open(rep) as f:
            row["report_heap"] = json.load(f).get("heap")
    except (OSError, ValueError):
        row["report_heap"] = None
    if os.path.exists(cap):
        for name, extra in (("table", []), ("why", ["--why", "Record"])):
            run.log("  %d objects: leaktrail heap %s" % (n, " ".join(extra) or "(table)"))
            seconds, rc, out, peak = timed([run.CLI, "heap", cap] + extra, timeout)
            row[name] = {"s": seconds, "peak": peak, "ok": rc == 0,
                         "named": "INDEX" in out and "Record" in out}
        os.remove(cap)
    if os.path.exists(rep):
        os.remove(rep)
    for peer in ("guppy", "objgraph"):
        if peer not in peers:
            continue
        run.log("  %d objects: %s" % (n, peer))
        seconds, rc, out, _ = timed([py, WORKLOAD, str(n), peer], timeout)
        row[peer] = last_json(out) if rc == 0 else None
    return row


def fmt_s(value):
    return "%.2f" % value if isinstance(value, (int, float)) else "—"


def fmt_mb(value):
    return "%.0f" % (value / MB) if isinstance(value, (int, float)) else "—"


def table(rows):
    lines = ["| objects (gc objects) | plain run s | leaktrail run s | fork pause s | walk s (in the copy) | walk µs/object | copy RSS MB, start → peak |"
             " report analysis s | `heap` table s (peak MB) | `heap --why` s (peak MB), path named | guppy3 hp.heap() s (extra MB) | objgraph find_backref_chain s (extra MB), chain |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        g = r.get("graph") or {}
        objects = g.get("objects")
        per = (1e6 * g["capture_seconds"] / objects) if objects and g.get("capture_seconds") is not None else None
        rh = r.get("report_heap") or {}
        t, w = r.get("table") or {}, r.get("why") or {}
        gu, og = r.get("guppy") or {}, r.get("objgraph") or {}
        lines.append("| %s (%s) | %s | %s | %s | %s | %s | %s → %s | %s | %s (%s) | %s (%s), %s | %s (%s) | %s (%s), %s |" % (
            "{:,}".format(objects) if objects else "{:,}".format(r["n"]), "{:,}".format(r["built"].get("gc_objects", 0)),
            fmt_s(r.get("plain_s")), fmt_s(r.get("leaktrail_s")),
            "%.4f" % g["pause_seconds"] if g.get("pause_seconds") is not None else "—",
            fmt_s(g.get("capture_seconds")), "%.1f" % per if per is not None else "—",
            fmt_mb(g.get("copy_start_rss_bytes")), fmt_mb(g.get("copy_peak_rss_bytes")),
            fmt_s(rh.get("analysis_seconds")),
            fmt_s(t.get("s")), fmt_mb(t.get("peak")),
            fmt_s(w.get("s")), fmt_mb(w.get("peak")), "yes" if w.get("named") else "no",
            fmt_s(gu.get("seconds")), fmt_mb(gu.get("extra_peak_bytes")),
            fmt_s(og.get("seconds")), fmt_mb(og.get("extra_peak_bytes")), og.get("chain", "—")))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000,3000000", help="objects per heap, comma-separated")
    parser.add_argument("--python", help="use this interpreter instead of the benchmark virtualenv's")
    parser.add_argument("--no-peers", action="store_true", help="do not pip-install guppy3 and objgraph")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds one process may take")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    run.ensure_built()
    py = run.bench_python(args, peers=PEERS)
    peers = [m for m in PEERS if run._importable(py, m)]
    for m in PEERS:
        if m not in peers:
            run.log("bench: %s is not importable by %s: left out" % (m, py))
    versions = run.versions(py, names=tuple(PEERS.values()))
    rows = []
    with tempfile.TemporaryDirectory(prefix="lt-heapbench-") as tmp:
        for n in sizes:
            rows.append(one_size(py, n, peers, args.timeout, tmp))
    print("Heap capture — %s; Python %s; %s" % (time.strftime("%Y-%m-%d"), versions.get("python", "?"),
                                                 ", ".join("%s %s" % kv for kv in sorted(versions.items()) if kv[0] != "python")))
    print()
    print(table(rows))
    print()
    print("Walk: in a forked copy while the program runs on; the program pauses for the fork only."
          " Copy RSS: the copy shares the program's pages until it writes them (reference counts do)."
          " guppy3 and objgraph run in the program itself, which they stop meanwhile; extra MB is the"
          " growth of the process's peak RSS.")


if __name__ == "__main__":
    main()
