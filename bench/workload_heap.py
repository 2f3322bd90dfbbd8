"""A heap of about N objects that leaks through an index, for bench/heap_capture.py.

    python workload_heap.py N hold      build, then exit (leaktrail takes its graph at exit)
    python workload_heap.py N guppy     build, then time guppy3's hpy().heap() and its table
    python workload_heap.py N objgraph  build, then time objgraph.find_backref_chain for one record

The shape of a service's leak: module INDEX -> dict by category -> list -> Record, each
record with a name (str), tags (tuple) and a payload (dict).  About five objects a record.
The last line printed is JSON: what was built, and for the peers what they took.
"""
import gc
import json
import resource
import sys
import time


class Record:
    def __init__(self, i):
        self.id = i
        self.name = "record-%d" % i
        self.tags = ("t%d" % (i % 7), i)
        self.payload = {"n": i}


INDEX = {}
OBJECTS_PER_RECORD = 5  # the instance, its name, its tags tuple and tag str, its payload dict


def peak_rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def build(n):
    for i in range(max(1, n // OBJECTS_PER_RECORD)):
        INDEX.setdefault("cat-%d" % (i % 50), []).append(Record(i))


def with_guppy():
    from guppy import hpy

    started = time.perf_counter()
    heap = hpy().heap()
    table = str(heap)  # the by-type table it prints
    return {"seconds": time.perf_counter() - started, "objects": heap.count, "table_lines": len(table.splitlines())}


def with_objgraph():
    import objgraph

    target = INDEX["cat-3"][-1]
    started = time.perf_counter()
    chain = objgraph.find_backref_chain(target, objgraph.is_proper_module)
    return {"seconds": time.perf_counter() - started, "chain": len(chain),
            "root": getattr(chain[0], "__name__", type(chain[0]).__name__) if chain else None}


def main():
    n, mode = int(sys.argv[1]), sys.argv[2]
    started = time.perf_counter()
    build(n)
    built = time.perf_counter() - started
    out = {"built_seconds": round(built, 3), "gc_objects": len(gc.get_objects())}
    rss_before = peak_rss()
    if mode == "guppy":
        out.update(with_guppy())
    elif mode == "objgraph":
        out.update(with_objgraph())
    out["rss_bytes"] = rss_before
    out["extra_peak_bytes"] = peak_rss() - rss_before
    print(json.dumps(out))


if __name__ == "__main__":
    main()
