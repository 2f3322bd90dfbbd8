"""Profiler overhead, side by side with peers. Standard library only:

    python3 bench/profile_overhead.py [--runs 5] [--rounds 300] [--calls 5000]

1. Sampler: a CPU-bound program (bench/workload_cpu.py) run plain, with the sampler alone
   (started by the environment, no CLI: the in-process cost), under `leaktrail profile -o
   FILE.svg` (100 Hz; adds the CLI's start and the flame graph), under `leaktrail profile
   --memory` and under `py-spy record -o FILE.svg` (100 Hz, py-spy's default rate). py-spy samples from outside with ptrace; if it
   cannot attach here it is run again with --nonblocking (it then does not pause the
   target) and the table says so.
2. Lines: a function that allocates on every line (bench/workload_lines.py) run plain, with
   `leaktrail lines --function __main__:handle`, with `@leaktrail.lines.profile` and with
   memory_profiler's `@profile`.

Each configuration runs --runs times, interleaved (the ~15x and ~200x ones a third as
often); the table shows, each as a ratio to the plain runs of the same invocation, the
median wall time, the fastest wall time (the least disturbed by other load on the
machine) and the median CPU time of the command and every process it started. py-spy and memory_profiler
are pip-installed into the benchmark virtualenv bench/.venv (benchmark-only, never
dependencies of leaktrail); every configuration uses that venv's Python.
"""
import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CLI = os.path.join(ROOT, "bin", "leaktrail")
VENV = os.path.join(HERE, ".venv")
CPU = os.path.join(HERE, "workload_cpu.py")
LINES = os.path.join(HERE, "workload_lines.py")
PEERS = {"py-spy": "py_spy", "memory_profiler": "memory_profiler"}

sys.path.insert(0, HERE)
import run as bench  # noqa: E402  (log, ensure_built, run_bounded)


def venv_python(args):
    if args.python:
        return args.python
    py = os.path.join(VENV, "bin", "python")
    if not os.path.exists(py):
        bench.log("bench: creating the benchmark virtualenv %s" % VENV)
        if subprocess.run([sys.executable, "-m", "venv", VENV], timeout=300).returncode != 0:
            sys.exit("bench: could not create %s" % VENV)
    missing = [pkg for pkg, mod in PEERS.items() if subprocess.run([py, "-c", "import " + mod], capture_output=True).returncode != 0]
    if missing:
        bench.log("bench: pip install %s into the benchmark virtualenv (benchmark-only peers)" % " ".join(missing))
        done = subprocess.run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check"] + missing,
                              capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            bench.log("bench: installing %s failed: %s" % (" ".join(missing), (done.stderr or "").strip().splitlines()[-1:]))
    return py


def version_of(py, dist):
    code = "import importlib.metadata as m\ntry: print(m.version(%r))\nexcept Exception: print('-')" % dist
    return subprocess.run([py, "-c", code], capture_output=True, text=True, timeout=60).stdout.strip() or "-"


def py_spy(py):
    exe = os.path.join(os.path.dirname(py), "py-spy")
    return exe if os.path.exists(exe) else None


def run_once(cmd, env, timeout):
    """Wall seconds and CPU seconds (user + system of the command and every process it
    waited for), or None when it failed. CPU is the steadier measure on a shared machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds, rc, _ = bench.run_bounded(cmd, timeout, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return (seconds, cpu) if rc == 0 else None


def measure(configs, runs, timeout):
    """configs: [(label, cmd, env[, runs])]; interleaved runs; {label: [(wall, cpu), ...]}."""
    got = {c[0]: [] for c in configs}
    for r in range(runs):
        for config in configs:
            label, cmd, env = config[:3]
            if r >= (config[3] if len(config) > 3 else runs):
                continue
            bench.log("  run %d/%d: %s" % (r + 1, runs, label))
            one = run_once(cmd, env, timeout)
            if one is not None:
                got[label].append(one)
    return got


def table(title, configs, results, notes):
    def med(label, i):
        xs = [x[i] for x in results[label]]
        return statistics.median(xs) if xs else None

    plain_wall, plain_cpu = med(configs[0][0], 0), med(configs[0][0], 1)
    plain_min = min((x[0] for x in results[configs[0][0]]), default=None)
    print("\n### %s\n" % title)
    print("| configuration | runs | median wall s | ratio | fastest wall s | ratio | median CPU s | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for config in configs:
        label = config[0]
        rows = results[label]
        if not rows:
            print("| %s | 0 | failed | | | | | |" % label)
            continue
        wall, cpu, fastest = med(label, 0), med(label, 1), min(x[0] for x in rows)
        print("| %s | %d | %.2f | %.2fx | %.2f | %.2fx | %.2f | %.2fx |" % (
            label, len(rows), wall, wall / plain_wall, fastest, fastest / plain_min, cpu, cpu / plain_cpu if plain_cpu else float("nan")))
    for n in notes:
        print("\n%s" % n)
    sys.stdout.flush()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per configuration, interleaved (default 5; the slow ones a third of that)")
    parser.add_argument("--rounds", type=int, default=300, help="rounds of the CPU workload (default 300, ~4-5 s plain)")
    parser.add_argument("--calls", type=int, default=5000, help="calls of the line-profiled function (default 5000, ~0.15 s plain)")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--python", help="use this interpreter instead of the benchmark virtualenv's")
    args = parser.parse_args(argv)

    bench.ensure_built()
    py = venv_python(args)
    pyver = subprocess.run([py, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True, text=True).stdout.strip()
    print("leaktrail profiler benchmarks — %s, %s, %d cores; Python %s; py-spy %s, memory_profiler %s" % (
        time.strftime("%Y-%m-%d"), platform.machine(), os.cpu_count() or 0, pyver, version_of(py, "py-spy"), version_of(py, "memory_profiler")))
    tmp = tempfile.mkdtemp(prefix="leaktrail-bench-prof-")
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    for k in [k for k in env if k.startswith("LEAKTRAIL_")]:
        env.pop(k)

    # 1. the sampler
    svg = os.path.join(tmp, "p.svg")
    rounds = str(args.rounds)
    agent = os.path.join(ROOT, "python")
    configs = [
        ("plain", [py, CPU, rounds], env),
        ("sampler alone, in the process (no CLI)", [py, CPU, rounds], dict(env, PYTHONPATH=agent, LEAKTRAIL_PROFILE=os.path.join(tmp, "raw"))),
        ("leaktrail profile (100 Hz)", ["node", CLI, "profile", "-q", "-o", svg, "--", py, CPU, rounds], env),
        # tracemalloc makes this one ~15x: fewer runs
        ("leaktrail profile --memory", ["node", CLI, "profile", "-q", "--memory", "-o", svg, "--", py, CPU, rounds], env, max(1, args.runs // 3)),
    ]
    notes = []
    spy = py_spy(py)
    if spy:
        # a probe of ~0.5 s: long enough that py-spy attaches before the program ends
        probe = subprocess.run([spy, "record", "-r", "100", "-o", svg, "--", py, CPU, "40"], capture_output=True, text=True, timeout=120)
        mode = []
        if probe.returncode != 0:
            mode = ["--nonblocking"]
            why = [l.strip() for l in probe.stderr.splitlines() if "rror" in l][:1] or (probe.stderr.strip().splitlines() or ["?"])[:1]
            notes.append("py-spy could not pause the target here (%s); it ran with --nonblocking." % why[0])
        configs.append(("py-spy record (100 Hz)%s" % (" --nonblocking" if mode else ""), [spy, "record", "-r", "100"] + mode + ["-o", svg, "--", py, CPU, rounds], env))
    else:
        notes.append("py-spy is not installed in %s: left out." % VENV)
    table("Sampler: CPU-bound workload (bench/workload_cpu.py %s)" % rounds, configs, measure(configs, args.runs, args.timeout), notes)

    # 2. line by line
    calls = str(args.calls)
    configs = [
        ("plain", [py, LINES, calls], env),
        ("leaktrail lines --function __main__:handle", ["node", CLI, "lines", "-q", "--json", os.path.join(tmp, "l.json"), "--function", "__main__:handle", "--", py, LINES, calls], env),
        ("@leaktrail.lines.profile", [py, LINES, calls], dict(env, LINES_PROFILER="leaktrail", PYTHONPATH=agent)),
    ]
    notes = []
    if subprocess.run([py, "-c", "import memory_profiler"], capture_output=True).returncode == 0:
        configs.append(("memory_profiler @profile", [py, LINES, calls], dict(env, LINES_PROFILER="memory_profiler"), max(1, args.runs // 3)))
    else:
        notes.append("memory_profiler is not installed in %s: left out." % VENV)
    table("Line by line: bench/workload_lines.py %s (one profiled function)" % calls, configs, measure(configs, args.runs, args.timeout), notes)


if __name__ == "__main__":
    main()
