"""A service-like program with a large heap and a slow leak (bench/run.py, "time to confirm").

    python workload_service.py SECONDS [--heap-mb 100] [--rate 500] [--leak-bytes 100]

First it builds a large, stable heap: a dict of many small bytes objects (about --heap-mb
MB of resident memory). Then it serves requests for SECONDS seconds at a steady --rate
per second, paced by the clock: each request decodes a JSON request, reads the store,
builds and encodes a response (short-lived churn), and refreshes a bounded cache of
recent responses (fills, then plateaus: no leak). Every request also keeps one bytes
object of --leak-bytes bytes (sys.getsizeof) in a module-level list: the leak, about
rate * leak-bytes per second (50 kB/s by default), at the line marked LEAK-SITE.

It prints "serving-start EPOCH" when the store is built and serving begins, and at the
end "served N …" and "max-stall SECONDS": the longest time between two turns of the
serving loop (10 ms when nothing gets in the way; more when the process was frozen), and
"peak-rss-mb MB".
"""
import argparse
import json
import sys
import time

try:
    import resource
except ImportError:  # not on Windows
    resource = None

STORE = {}  # built once, never changes: the large, steady heap
RECENT = {}  # bounded cache of recent responses: fills up, then stays the same size
RECENT_MAX = 2000
KEPT = []  # the leak

_BYTES_OVERHEAD = sys.getsizeof(b"")  # header of a bytes object (33 on 64-bit CPython)


def build_store(heap_mb):
    # One entry: an int key (28 B), a 64-byte bytes value (97 B) and a dict slot (~40 B
    # with the table's slack): about 165 B of resident memory per entry.
    n = int(heap_mb * 1_000_000 / 165)
    for i in range(n):
        STORE[i] = (b"%08d" % i) * 8
    return n


def handle(i, n, leak_payload):
    request = json.loads('{"id": %d, "keys": [%d, %d, %d], "note": "hello"}' % (i, i % n, (i * 7919) % n, (i * 104729) % n))
    values = [STORE[k][:16].decode() for k in request["keys"]]
    response = {"id": request["id"], "values": values, "total": sum(len(v) for v in values), "tags": [str(k) for k in request["keys"]]}
    body = json.dumps(response)
    RECENT[i % RECENT_MAX] = body  # bounded: replaces an older entry once full
    KEPT.append(b"%0*d" % (leak_payload, i))  # LEAK-SITE
    return len(body)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("seconds", type=float, help="how long to serve after the store is built")
    parser.add_argument("--heap-mb", type=float, default=100.0)
    parser.add_argument("--rate", type=float, default=500.0, help="requests per second")
    parser.add_argument("--leak-bytes", type=int, default=100, help="sys.getsizeof of each kept bytes object")
    args = parser.parse_args()
    leak_payload = max(1, args.leak_bytes - _BYTES_OVERHEAD)

    n = build_store(args.heap_mb)
    start = time.time()
    print("serving-start %.6f" % start, flush=True)
    tick = 0.01
    done = 0
    size = 0
    deadline = time.monotonic() + args.seconds
    began = time.monotonic()
    last = began
    max_stall = 0.0  # longest time between two turns of the loop (a tick is 10 ms)
    while True:
        now = time.monotonic()
        max_stall = max(max_stall, now - last)
        last = now
        if now >= deadline:
            break
        due = int((now - began) * args.rate)
        while done < due:
            size += handle(done, n, leak_payload)
            done += 1
        # sleep to the next tick (requests arrive at a steady rate; the service is mostly idle)
        time.sleep(max(0.0, tick - (time.monotonic() - now)))
    print("served %d requests, %d bytes, kept %d" % (done, size, len(KEPT)), flush=True)
    print("max-stall %.3f" % max_stall, flush=True)
    if resource is not None:
        print("peak-rss-mb %.1f" % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), flush=True)


if __name__ == "__main__":
    main()
