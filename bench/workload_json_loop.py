"""An allocation-heavy, service-like loop: decode a request, build a response, encode it.

Leaks slowly when LEAK=1: one small record per 50 requests, kept in a module-level list.
"""
import json
import os
import sys
import time

KEPT = []
LEAK = os.environ.get("LEAK") == "1"


def handle(i):
    request = json.loads('{"user": %d, "items": [1, 2, 3, 4, 5], "note": "hello"}' % i)
    response = {"user": request["user"], "total": sum(request["items"]), "tags": [str(x) for x in request["items"]]}
    if LEAK and i % 50 == 0:
        KEPT.append(("audit", i, response["total"]))  # LEAK-SITE
    return json.dumps(response)


def main(n):
    started = time.perf_counter()
    size = 0
    for i in range(n):
        size += len(handle(i))
    # the loop's own wall time: what a service pays, apart from start-up and what a tool
    # does after the program ends (bench/run.py reads it)
    print("%d bytes, loop %.3f s" % (size, time.perf_counter() - started))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
