"""Line-profiling workload: one function whose lines allocate, free and keep memory, called
CALLS times. LINES_PROFILER chooses the decorator: "" (plain), "leaktrail"
(leaktrail.lines.profile) or "memory_profiler" (memory_profiler.profile). With `leaktrail
lines --function __main__:handle` it runs undecorated. usage: workload_lines.py [CALLS]."""
import os
import sys

KEEP = []

which = os.environ.get("LINES_PROFILER", "")
if which == "leaktrail":
    from leaktrail.lines import profile
elif which == "memory_profiler":
    from memory_profiler import profile
else:
    def profile(fn):
        return fn


@profile
def handle(i):
    payload = {"id": i, "items": [str(j) for j in range(200)]}
    text = repr(payload)
    parts = text.split(",")
    if i % 10 == 0:
        KEEP.append(text[:100])
    return len(parts)


def main():
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    total = 0
    for i in range(calls):
        total += handle(i)
    print(total)


if __name__ == "__main__":
    main()
