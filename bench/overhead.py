"""Wall-time overhead of leaktrail on an allocation-heavy loop, as ratios to the plain run.

    python3 bench/overhead.py [--runs 5] [--requests 100000]

Each configuration runs the same workload (bench/workload_json_loop.py) `--runs` times,
interleaved, and the median wall time is divided by the plain run's median measured in
the same invocation. Peers (memray, scalene) are included when they are importable by the
Python that runs this script; they are never dependencies of leaktrail.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CLI = os.path.join(ROOT, "bin", "leaktrail")
WORKLOAD = os.path.join(HERE, "workload_json_loop.py")


def configurations(py, n, tmp):
    w = [WORKLOAD, str(n)]
    yield "plain", [py] + w
    yield "tracemalloc (1 frame)", [py, "-X", "tracemalloc=1"] + w
    yield "tracemalloc (16 frames)", [py, "-X", "tracemalloc=16"] + w
    yield "leaktrail --trace windows", [CLI, "run", "-q", "--trace", "windows", "-o", os.path.join(tmp, "w-%d.ltcap"), "--", py] + w
    yield "leaktrail --trace full", [CLI, "run", "-q", "--trace", "full", "-o", os.path.join(tmp, "f-%d.ltcap"), "--", py] + w
    if _importable(py, "memray"):
        yield "memray run", [py, "-m", "memray", "run", "-f", "-q", "-o", os.path.join(tmp, "m-%d.bin")] + w
    if _importable(py, "scalene"):
        yield "scalene (cpu+memory)", [py, "-m", "scalene", "--cli", "--off", "--no-browser"] + w


def _importable(py, module):
    return subprocess.run([py, "-c", "import " + module], capture_output=True).returncode == 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="leaktrail-bench-")
    configs = list(configurations(args.python, args.requests, tmp))
    times = {name: [] for name, _ in configs}
    try:
        for run in range(args.runs):
            for name, cmd in configs:
                cmd = [c % run if "%d" in c else c for c in cmd]
                started = time.perf_counter()
                done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                times[name].append(time.perf_counter() - started)
                if done.returncode != 0:
                    print(f"{name}: exit {done.returncode}", file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    plain = statistics.median(times["plain"])
    print(f"workload: {args.requests} requests of a json loop, {args.runs} runs each, median wall time")
    print(f"{'configuration':30} {'median s':>9} {'ratio':>7}")
    for name, _ in configs:
        m = statistics.median(times[name])
        print(f"{name:30} {m:9.3f} {m / plain:7.2f}x")


if __name__ == "__main__":
    main()
