"""Wall-time overhead of leaktrail on an allocation-heavy loop, as ratios to the plain run.

    python3 bench/overhead.py [--runs 3] [--requests 1000000,6000000] [--python PY]

The overhead half of bench/run.py (which see, and bench/README.md): each configuration
runs bench/workload_json_loop.py (LEAK=1) `--runs` times, interleaved, and the median wall
time is divided by the plain run's median measured in the same invocation. Without
--python every configuration uses the benchmark virtualenv bench/.venv, with memray and
scalene installed in it; they are never dependencies of leaktrail.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import run  # noqa: E402  (bench/run.py)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", default="1000000,6000000")
    parser.add_argument("--python")
    args = parser.parse_args()
    argv = ["--only", "overhead", "--runs", str(args.runs), "--requests", args.requests]
    if args.python:
        argv += ["--python", args.python]
    run.main(argv)


if __name__ == "__main__":
    main()
