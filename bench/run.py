"""leaktrail benchmarks, side by side with peers. One command, standard library only:

    python3 bench/run.py [--runs 3] [--requests 1000000,6000000] [--confirm-seconds 60] [--only overhead|confirm]

1. Overhead: the same allocation-heavy loop (bench/workload_json_loop.py, LEAK=1) run
   plain, under `leaktrail run` (default mode: tracing windows) and `--trace full`,
   `python -X tracemalloc=1` and `=16`, `memray run` and scalene (CPU + memory), each --runs
   times, interleaved; the median wall time of each, as a ratio to the plain median
   measured in the same invocation. Once per length in --requests (default ~5 s and
   ~30 s plain); the configurations that trace every allocation (10-25x) run only at
   lengths up to --slow-max-requests. For the leaktrail runs: did the report name the leak
   (verdict.leak, top suspect at the workload's `# LEAK-SITE` line, type tuple)?
2. Time to confirm a leak: a service-like program (bench/workload_service.py) builds a
   ~100 MB heap, then serves requests for --confirm-seconds while leaking ~50 kB/s. It runs
   under `leaktrail run -o CAPTURE` (--trace auto, windows, then full); bench/replay.mjs then
   analyses the capture as if the run had stopped after T = 5, 10, 15, ... seconds and
   says when the verdict first named the leak, and whether it stayed named.

Every configuration runs on the same interpreter: a benchmark virtualenv at bench/.venv
(created on first use; memray and scalene are pip-installed into it, and left out with a
note when that fails). They are benchmark-only: never dependencies of leaktrail. The
machine is small, so everything runs one at a time, each run bounded by a timeout.
"""
import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CLI = os.path.join(ROOT, "bin", "leaktrail")
VENV = os.path.join(HERE, ".venv")
JSON_LOOP = os.path.join(HERE, "workload_json_loop.py")
SERVICE = os.path.join(HERE, "workload_service.py")
REPLAY = os.path.join(HERE, "replay.mjs")
PEERS = ("memray", "scalene")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# -- set-up -------------------------------------------------------------------------


def ensure_built():
    if os.path.exists(os.path.join(ROOT, "dist", "cli", "main.js")):
        return
    log("bench: dist/cli/main.js is missing; building: npx tsc -p tsconfig.json")
    done = subprocess.run(["npx", "tsc", "-p", "tsconfig.json"], cwd=ROOT, timeout=600)
    if done.returncode != 0 or not os.path.exists(os.path.join(ROOT, "dist", "cli", "main.js")):
        sys.exit("bench: the build failed; run 'npm ci' in %s first" % ROOT)


def _importable(py, module):
    try:
        return subprocess.run([py, "-c", "import " + module], capture_output=True, timeout=60).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def bench_python(args, peers=None):
    """The interpreter every configuration uses: the benchmark venv's, with the peers in it.

    peers: {module: pip requirement}, by default memray and scalene.
    """
    peers = peers or {m: m for m in PEERS}
    if args.python:
        return args.python
    py = os.path.join(VENV, "bin", "python")
    if not os.path.exists(py):
        log("bench: creating the benchmark virtualenv %s" % VENV)
        try:
            done = subprocess.run([sys.executable, "-m", "venv", VENV], timeout=300)
        except subprocess.TimeoutExpired:
            done = None
        if done is None or done.returncode != 0 or not os.path.exists(py):
            log("bench: could not create the virtualenv; using %s without peers" % sys.executable)
            return sys.executable
    if not args.no_peers:
        missing = [peers[m] for m in peers if not _importable(py, m)]
        if missing:
            log("bench: pip install %s into the benchmark virtualenv (benchmark-only peers)" % " ".join(missing))
            try:
                done = subprocess.run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check"] + list(missing),
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=900)
                ok = done.returncode == 0
                why = (done.stderr or "").strip().splitlines()[-1:] if not ok else []
            except subprocess.TimeoutExpired:
                ok, why = False, ["timed out after 900 s"]
            if not ok:
                log("bench: installing %s failed (%s); going on without them" % (" ".join(missing), " ".join(why) or "no message"))
    return py


def versions(py, names=PEERS):
    out = {}
    code = ("import sys, importlib.metadata as m\n"
            "print(sys.version.split()[0])\n"
            "for n in %r:\n"
            "    try: print(n, m.version(n))\n"
            "    except Exception: print(n, '-')\n") % (tuple(names),)
    try:
        lines = subprocess.run([py, "-c", code], capture_output=True, text=True, timeout=60).stdout.split("\n")
        out["python"] = lines[0]
        for line in lines[1:]:
            if line:
                name, version = line.split(" ", 1)
                out[name] = version
    except Exception:
        pass
    try:
        out["node"] = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception:
        pass
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=30).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src", "python"], cwd=ROOT, capture_output=True, text=True, timeout=30).stdout.strip()
        out["leaktrail"] = head + (" + uncommitted changes in src/ or python/" if dirty else "")
    except Exception:
        pass
    return out


def run_bounded(cmd, timeout, env=None, capture=False):
    """Runs cmd in its own process group; returns (seconds, exit code or 'timeout', stdout)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)  # the group of the process this call started
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=10)
                break
            except subprocess.TimeoutExpired:
                continue
        out, err = proc.communicate()
        rc = "timeout"
    seconds = time.perf_counter() - started
    if rc != 0:
        tail = (err or "").strip().splitlines()[-3:]
        log("    exit %s: %s" % (rc, " | ".join(tail)))
    return seconds, rc, out or ""


LOOP_SECONDS = re.compile(r"loop (\d+\.\d+) s")


def leak_site_line(path):
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if "# LEAK-SITE" in line:
                return number
    raise SystemExit("bench: no '# LEAK-SITE' line in %s" % path)


def code_fingerprint():
    """What the runs execute from this checkout: the compiled CLI and the agent (others may rebuild mid-run)."""
    seen = []
    for top in (os.path.join(ROOT, "dist"), os.path.join(ROOT, "python")):
        for folder, _, files in os.walk(top):
            for name in files:
                if name.endswith((".js", ".py")):
                    st = os.stat(os.path.join(folder, name))
                    seen.append((os.path.join(folder, name), st.st_size, st.st_mtime_ns))
    return sorted(seen)


def rel(path):
    return os.path.relpath(path, ROOT)


# -- 1. overhead --------------------------------------------------------------------


def scalene_prefix(py, out):
    """scalene's command line up to the program; scalene passes what follows `---` to it."""
    new_cli = subprocess.run([py, "-m", "scalene", "run", "--help"], capture_output=True, timeout=60).returncode == 0
    if new_cli:  # scalene >= 2: `scalene run` profiles CPU and memory, writes a JSON profile, opens nothing
        return [py, "-m", "scalene", "run", "--memory", "-o", out]
    return [py, "-m", "scalene", "--cli", "--memory", "--no-browser", "--outfile", out]


def overhead_configurations(py, tmp):
    """(name, slow, build(run, program, program_args) -> (cmd, JSON report path or None, files to remove)).

    slow: traces every allocation (10-25x), so run only at the shorter lengths.
    """
    def leaktrail(mode):
        def build(run, program, program_args):
            cap = os.path.join(tmp, "%s-%d.ltcap" % (mode or "default", run))
            rep = os.path.join(tmp, "%s-%d.json" % (mode or "default", run))
            trace = ["--trace", mode] if mode else []
            cmd = [CLI, "run", "-q"] + trace + ["-o", cap, "--json", rep, "--", py, program] + program_args
            return cmd, rep, [cap, rep]
        return build

    def python(*options):
        return lambda run, program, program_args: ([py] + list(options) + [program] + program_args, None, [])

    yield "plain", False, python()
    yield "leaktrail (default)", False, leaktrail(None)
    yield "leaktrail --trace full", True, leaktrail("full")
    yield "python -X tracemalloc=1", True, python("-X", "tracemalloc=1")
    yield "python -X tracemalloc=16", True, python("-X", "tracemalloc=16")
    if _importable(py, "memray"):
        memray_out = os.path.join(tmp, "memray.bin")  # a name of its own: the lambdas run later
        yield "memray run", False, lambda run, program, program_args: (
            [py, "-m", "memray", "run", "-f", "-q", "-o", memray_out, program] + program_args, None, [memray_out])
    else:
        log("bench: memray is not importable by %s: left out" % py)
    if _importable(py, "scalene"):
        scalene_out = os.path.join(tmp, "scalene.json")
        prefix = scalene_prefix(py, scalene_out)
        yield "scalene (cpu+memory)", False, lambda run, program, program_args: (
            prefix + [program, "---"] + program_args, None, [scalene_out])
    else:
        log("bench: scalene is not importable by %s: left out" % py)


def judge_report(path, site_file, site_line, want_type):
    try:
        with open(path) as f:
            report = json.load(f)
    except (OSError, ValueError) as exc:
        return {"named": False, "text": "no report (%s)" % exc.__class__.__name__}
    verdict = report.get("verdict", {})
    suspects = report.get("suspects") or []
    top = suspects[0] if suspects else None
    named = bool(verdict.get("leak")) and top is not None and top["site"]["line"] == site_line \
        and os.path.basename(top["site"]["file"]) == os.path.basename(site_file) and top.get("type") == want_type
    top_text = "%s:%s %s" % (top["site"]["file"], top["site"]["line"], top.get("type") or "?") if top else "no suspect"
    return {"named": named, "leak": bool(verdict.get("leak")), "kind": verdict.get("kind"),
            "text": "leak=%s kind=%s top=%s" % (str(bool(verdict.get("leak"))).lower(), verdict.get("kind"), top_text)}


def overhead(args, py, tmp):
    for requests in args.requests:
        overhead_at(args, py, tmp, requests)
        print(flush=True)


def overhead_at(args, py, tmp, requests):
    site_line = leak_site_line(JSON_LOOP)
    all_configs = list(overhead_configurations(py, tmp))
    configs = [(name, build) for name, slow, build in all_configs if not slow or requests <= args.slow_max_requests]
    skipped = [name for name, slow, _ in all_configs if slow and requests > args.slow_max_requests]
    times = {name: [] for name, _ in configs}
    loops = {name: [] for name, _ in configs}
    failures = {name: [] for name, _ in configs}
    verdicts = {name: [] for name, _ in configs}
    rounds = {name: {} for name, _ in configs}  # run -> (seconds, loop seconds or None)
    env = dict(os.environ, LEAK="1")
    env.pop("LEAKTRAIL_TRACE", None)
    total = args.runs * len(configs)
    n = 0
    for run in range(args.runs):
        for name, build in configs:
            n += 1
            cmd, report, remove = build(run, JSON_LOOP, [str(requests)])
            log("  [%d/%d] %s, %d requests" % (n, total, name, requests))
            seconds, rc, out = run_bounded(cmd, args.timeout, env=env, capture=True)
            if rc == 0:
                times[name].append(seconds)
                loop = LOOP_SECONDS.search(out)
                if loop:
                    loops[name].append(float(loop.group(1)))
                rounds[name][run] = (seconds, float(loop.group(1)) if loop else None)
            else:
                failures[name].append(rc)
            if report:
                verdicts[name].append(judge_report(report, JSON_LOOP, site_line, "tuple"))
            for path in remove:
                if os.path.exists(path):
                    os.remove(path)
    if not times["plain"]:
        print("overhead: every plain run failed; no ratios")
        return
    plain = statistics.median(times["plain"])
    plain_loop = statistics.median(loops["plain"]) if loops["plain"] else None
    lines = []
    lines.append("Overhead: %s %d LEAK=1 (%d requests, %.0f s plain), %d runs each, interleaved; median wall time" %
                 (rel(JSON_LOOP), requests, requests, plain, args.runs))
    lines.append("")
    lines.append("| configuration | median s | min–max s | ratio to plain | request loop: median s | loop ratio to plain | paired ratios: command, loop | leak named (runs) |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---|")
    for name, _ in configs:
        ts = times[name]
        if ts:
            m = statistics.median(ts)
            cells = ["%.2f" % m, "%.2f–%.2f" % (min(ts), max(ts)), "%.2fx" % (m / plain)]
        else:
            cells = ["—", "—", "—"]
        if failures[name]:
            cells[2] += " (%d failed: %s)" % (len(failures[name]), ", ".join(map(str, failures[name])))
        if loops[name] and plain_loop:
            m = statistics.median(loops[name])
            cells += ["%.2f" % m, "%.2fx" % (m / plain_loop)]
        else:
            cells += ["—", "—"]
        cells.append(paired_ratios(rounds[name], rounds["plain"]))
        vs = verdicts[name]
        named = "%d/%d" % (sum(v["named"] for v in vs), len(vs)) if vs else ""
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % ((name,) + tuple(cells) + (named,)))
    for name in skipped:
        lines.append("| %s | not run at this length (traces every allocation: 10-25x) | | | | | | |" % name)
    lines.append("")
    lines.append("Median s: the whole command, from start to its exit (for leaktrail: until the report is"
                 " written, walks of heap graphs taken at exit included). Request loop: the workload's own"
                 " timing of its loop, what a service pays while it runs. Paired ratios: each run over the"
                 " plain run of the same round (runs are interleaved), the median of those: steadier than"
                 " the ratio of medians when the machine's speed drifts.")
    lines.append("")
    lines.append("Leak named = verdict.leak, and suspects[0] at %s:%d (the `# LEAK-SITE` line) with type tuple." % (rel(JSON_LOOP), site_line))
    for name, _ in configs:
        for i, v in enumerate(verdicts[name], 1):
            lines.append("  %s, run %d: %s -> %s" % (name, i, v["text"], "named" if v["named"] else "NOT named"))
    print("\n".join(lines), flush=True)


def paired_ratios(runs, plain_runs):
    """"command, loop" medians of each round's ratio to that round's plain run."""
    def median_ratio(i):
        ratios = [runs[r][i] / plain_runs[r][i] for r in runs
                  if r in plain_runs and runs[r][i] and plain_runs[r][i]]
        return "%.2fx" % statistics.median(ratios) if ratios else "—"

    return "%s, %s" % (median_ratio(0), median_ratio(1))


# -- 2. time to confirm a leak --------------------------------------------------------


def parse_service_output(out):
    info = {}
    for key, pattern in (("serving_start", r"serving-start ([\d.]+)"), ("max_stall", r"max-stall ([\d.]+)"),
                         ("peak_rss_mb", r"peak-rss-mb ([\d.]+)"), ("served", r"served (\d+) requests")):
        m = re.search(pattern, out)
        if m:
            info[key] = float(m.group(1))
    return info


def confirm(args, py, tmp):
    site_line = leak_site_line(SERVICE)
    env = dict(os.environ)
    env.pop("LEAKTRAIL_TRACE", None)
    service = [SERVICE, "%g" % args.confirm_seconds, "--heap-mb", "%g" % args.heap_mb]
    results = []

    # the program alone: how long its serving loop may stall, and its peak RSS, with no tool
    plain_seconds = min(args.confirm_seconds, 20.0)
    log("  plain service, %g s" % plain_seconds)
    seconds, rc, out = run_bounded([py, SERVICE, "%g" % plain_seconds, "--heap-mb", "%g" % args.heap_mb],
                                   plain_seconds + 120, env=env, capture=True)
    plain = parse_service_output(out)
    plain.update(wall=seconds, rc=rc)

    for mode in args.modes.split(","):
        capture = os.path.join(tmp, "service-%s.ltcap" % mode)
        report = os.path.join(tmp, "service-%s.json" % mode)
        cmd = [CLI, "run", "-q", "--trace", mode, "-o", capture, "--json", report, "--", py] + service
        log("  leaktrail --trace %s, service %g s" % (mode, args.confirm_seconds))
        seconds, rc, out = run_bounded(cmd, args.confirm_seconds * 5 + 300, env=env, capture=True)
        info = parse_service_output(out)
        info.update(mode=mode, wall=seconds, rc=rc, live=judge_report(report, SERVICE, site_line, "bytes"))
        if os.path.exists(capture):
            done = subprocess.run(["node", REPLAY, capture, "--file", rel(SERVICE), "--line", str(site_line),
                                   "--type", "bytes", "--kind", "python-reachable", "--step", "%g" % args.step],
                                  cwd=ROOT, capture_output=True, text=True, timeout=900)
            try:
                info["replay"] = json.loads(done.stdout)
            except ValueError:
                info["replay"] = {"error": (done.stderr or done.stdout).strip()[-500:]}
            if args.keep:
                log("  capture kept: %s" % capture)
            else:
                os.remove(capture)
        else:
            info["replay"] = {"error": "no capture written"}
        results.append(info)

    lines = []
    lines.append("Time to confirm a leak: %s %g --heap-mb %g (a ~%g MB heap, then ~%d req/s leaking ~50 kB/s of bytes at line %d)" %
                 (rel(SERVICE), args.confirm_seconds, args.heap_mb, args.heap_mb, 500, site_line))
    lines.append("Replayed at T = %g, %g, ... s after the program started (first agent hello): analyse() of the records up to T." %
                 (args.step, 2 * args.step))
    lines.append("Named = verdict.leak, kind python-reachable, suspects[0] at %s:%d with type bytes." % (rel(SERVICE), site_line))
    lines.append("")
    lines.append("| run | wall s | serving from | first T named | stays named | live report | max stall s | peak RSS MB | samples |")
    lines.append("|---|---:|---:|---:|---|---|---:|---:|---:|")
    lines.append("| plain (%g s) | %.1f | — | — | — | — | %s | %s | — |" %
                 (plain_seconds, plain["wall"], _fmt(plain.get("max_stall"), "%.3f"), _fmt(plain.get("peak_rss_mb"), "%.0f")))
    for r in results:
        rp = r["replay"]
        if "error" in rp:
            lines.append("| leaktrail --trace %s | %.1f | — | replay failed: %s | | | | | |" % (r["mode"], r["wall"], rp["error"]))
            continue
        serving = r.get("serving_start")
        first = rp.get("first_confirmed_s")
        lines.append("| leaktrail --trace %s | %.1f | %s | %s | %s | %s | %s | %s | %d |" % (
            r["mode"], r["wall"],
            ("+%.1f s" % (serving - rp["start"])) if serving else "?",
            ("%g s" % first) if first is not None else "never",
            "yes" if rp.get("stays_true") else "no",
            "named" if r["live"]["named"] else "NOT named",
            _fmt(r.get("max_stall"), "%.3f"), _fmt(r.get("peak_rss_mb"), "%.0f"),
            rp.get("samples", 0)))
    for r in results:
        rp = r["replay"]
        if "error" in rp:
            continue
        lines.append("")
        lines.append("leaktrail --trace %s: exit %s, served %s requests, live report: %s" %
                     (r["mode"], r["rc"], _fmt(r.get("served"), "%d"), r["live"]["text"]))
        lines.append("| T s | records | leak | kind | confidence | growth B/s | top suspect | named |")
        lines.append("|---:|---:|---|---|---:|---:|---|---|")
        for row in rp["rows"]:
            top = row.get("top")
            top_text = "%s:%s %s %s" % (top["file"], top["line"], top["function"], top["type"] or "?") if top else "—"
            lines.append("| %s | %d | %s | %s | %.4f | %d | %s | %s |" % (
                ("%g" % row["T"]) if row["T"] is not None else "all", row["records"], "yes" if row["leak"] else "no",
                row["kind"], row["confidence"], row["growth_bytes_per_s"], top_text, "yes" if row["ok"] else "no"))
    print("\n".join(lines), flush=True)


def _lengths(text):
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("expected comma-separated request counts, not %r" % text)
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError("expected positive request counts, not %r" % text)
    return values


def _fmt(value, spec):
    return spec % value if value is not None else "?"


# -- main ----------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=("overhead", "confirm"), help="run one benchmark only")
    parser.add_argument("--runs", type=int, default=3, help="runs per overhead configuration (default 3)")
    parser.add_argument("--requests", type=_lengths, default=[1_000_000, 6_000_000],
                        help="requests of the overhead workload, one table per comma-separated length (default 1000000,6000000: ~5 s and ~30 s plain)")
    parser.add_argument("--slow-max-requests", type=int, default=1_000_000,
                        help="longest run for configurations that trace every allocation (default 1000000)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds one overhead run may take (default 900)")
    parser.add_argument("--confirm-seconds", type=float, default=60.0, help="how long the service serves (default 60)")
    parser.add_argument("--heap-mb", type=float, default=100.0, help="heap the service builds first (default 100)")
    parser.add_argument("--step", type=float, default=5.0, help="replay step in seconds (default 5)")
    parser.add_argument("--modes", default="auto,windows,full", help="leaktrail --trace modes for the confirm benchmark")
    parser.add_argument("--python", help="use this interpreter instead of the benchmark virtualenv's")
    parser.add_argument("--no-peers", action="store_true", help="do not pip-install memray and scalene")
    parser.add_argument("--keep", action="store_true", help="keep the confirm benchmark's captures")
    args = parser.parse_args(argv)

    ensure_built()
    py = bench_python(args)
    v = versions(py)
    print("leaktrail benchmarks — %s, %s, %d cores; Python %s (%s), node %s; leaktrail %s; memray %s, scalene %s" % (
        time.strftime("%Y-%m-%d"), platform.machine(), os.cpu_count() or 0, v.get("python", "?"), py if args.python else rel(py),
        v.get("node", "?"), v.get("leaktrail", "?"), v.get("memray", "-"), v.get("scalene", "-")), flush=True)
    tmp = tempfile.mkdtemp(prefix="leaktrail-bench-")
    fingerprint = code_fingerprint()
    try:
        if args.only in (None, "overhead"):
            print(flush=True)
            log("bench: overhead, %d runs of each configuration" % args.runs)
            overhead(args, py, tmp)
        if args.only in (None, "confirm"):
            print(flush=True)
            log("bench: time to confirm a leak")
            confirm(args, py, tmp)
        if code_fingerprint() != fingerprint:
            print("\nWARNING: dist/ or python/ changed while the benchmarks ran (someone rebuilt or edited): "
                  "the runs did not all measure the same code.", flush=True)
    finally:
        if args.keep:
            log("bench: files kept in %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
