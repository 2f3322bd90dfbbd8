"""Tests of the heap graph walk (leaktrail.heapgraph) and its forked dump."""
import gc
import json
import base64
import os
import shutil
import sys
import tempfile
import threading
import time
import tracemalloc
import unittest

import graph_decode as gd
from leaktrail import heapgraph
from test_agent import Sink, garbage_left_by, same_file, type_names

REF, ATTR, ITEM, KEY, INDEX, CELL, LOCAL, FIELD, MEMBER = range(9)
MODULE_ROOT, THREAD_ROOT, EXTERNAL_ROOT, AGENT_ROOT = 1, 2, 3, 4


class Catalog:
    def __init__(self):
        self.by_category = {}


CATALOG = Catalog()


def make_closure():
    captured = ["captured-value"]

    def inner():
        return captured

    return inner


CLOSURE = make_closure()


class Graph:
    """A decoded graph with the lookups the tests need."""

    def __init__(self, payload):
        self.g = gd.decode(payload)

    def type_of(self, i):
        return gd.text(self.g, self.g["type"][i])

    def name_of(self, i):
        return gd.text(self.g, self.g["name"][i])

    def module(self, name):
        found = [i for i, k in zip(self.g["roots"], self.g["root_kind"]) if k == MODULE_ROOT and self.name_of(i) == name]
        assert len(found) == 1, (name, found)
        return found[0]

    def follow(self, i, kind, label):
        hits = [t for k, lab, t in gd.edges(self.g, i) if k == kind and lab == label]
        assert hits, "no edge %s %r from a %s: %s" % (kind, label, self.type_of(i), gd.edges(self.g, i)[:20])
        return hits[0]

    def reachable(self, kinds):
        seen = set(i for i, k in zip(self.g["roots"], self.g["root_kind"]) if k in kinds)
        todo = list(seen)
        while todo:
            i = todo.pop()
            for _, _, t in gd.edges(self.g, i):
                if t not in seen:
                    seen.add(t)
                    todo.append(t)
        return seen


class WalkTest(unittest.TestCase):
    def build(self, collect=True, **kw):
        if collect:
            gc.collect()
        payload, objects, edges = heapgraph.build(**kw)
        g = Graph(payload)
        self.assertEqual(len(g.g["type"]), objects)
        self.assertEqual(len(g.g["target"]), edges)
        return g

    def test_labels_a_path_from_a_module_to_a_leaked_object(self):
        CATALOG.by_category["cat-3"] = [("sku", 1234567)]
        try:
            g = self.build()
            me = g.module(__name__)
            catalog = g.follow(me, ATTR, "CATALOG")
            self.assertEqual(g.type_of(catalog), __name__ + ".Catalog")
            index = g.follow(catalog, ATTR, "by_category")
            self.assertEqual(g.type_of(index), "builtins.dict")
            bucket = g.follow(index, ITEM, "cat-3")
            self.assertEqual(g.type_of(bucket), "builtins.list")
            row = g.follow(bucket, INDEX, 0)
            self.assertEqual(g.type_of(row), "builtins.tuple")
            self.assertEqual(g.type_of(g.follow(row, INDEX, 1)), "builtins.int")
        finally:
            CATALOG.by_category.clear()

    def test_closure_variables_and_function_names(self):
        g = self.build()
        fn = g.follow(g.module(__name__), ATTR, "CLOSURE")
        self.assertEqual(g.type_of(fn), "builtins.function")
        self.assertEqual(g.name_of(fn), "make_closure.<locals>.inner")
        self.assertEqual(g.type_of(g.follow(fn, CELL, "captured")), "builtins.list")

    def test_a_threads_locals_are_reached_from_its_stack(self):
        started, release = threading.Event(), threading.Event()

        def worker():
            held_by_a_local = {"payload": bytearray(1000)}  # noqa: F841
            started.set()
            release.wait(10)

        t = threading.Thread(target=worker, name="busy-worker")
        t.start()
        started.wait(5)
        try:
            g = self.build()
        finally:
            release.set()
            t.join(5)
        frames = [i for i, k in zip(g.g["roots"], g.g["root_kind"]) if k == THREAD_ROOT and (g.name_of(i) or "").startswith("busy-worker worker")]
        self.assertEqual(len(frames), 1)
        held = g.follow(frames[0], LOCAL, "held_by_a_local")
        self.assertEqual(g.type_of(g.follow(held, ITEM, "payload")), "builtins.bytearray")

    def test_unreachable_cycles_are_in_the_graph_but_reached_from_no_root(self):
        class Node:
            pass

        gc.disable()
        try:
            a, b = Node(), Node()
            a.other, b.other = b, a
            a.marker = "cycle-marker-%d" % id(a)
            marker = a.marker
            del a, b
            g = self.build(collect=False)
        finally:
            gc.enable()
            gc.collect()
        nodes = [i for i in range(len(g.g["type"])) if g.type_of(i).endswith("Node")]
        self.assertEqual(len(nodes), 2)
        alive = g.reachable({MODULE_ROOT, THREAD_ROOT, EXTERNAL_ROOT, AGENT_ROOT})
        self.assertFalse(any(i in alive for i in nodes), "an unreachable cycle was reached from a root")
        self.assertIn(marker[:5], "cycle")

    def test_sizes_fold_an_instances_dict_into_it(self):
        g = self.build()
        catalog = g.follow(g.module(__name__), ATTR, "CATALOG")
        self.assertGreaterEqual(g.g["size"][catalog], sys.getsizeof(CATALOG))
        self.assertFalse(any(k == REF and g.type_of(t) == "builtins.dict" for k, _, t in gd.edges(g.g, catalog)),
                         "the instance's __dict__ should be folded into it, not a separate node")

    def test_no_string_contents_unless_asked(self):
        secret = "s3cr3t-" + "x" * 20 + str(os.getpid())
        holder = [secret]  # noqa: F841
        g = self.build()
        self.assertFalse(any(secret in s for s in g.g["strings"]))
        g = self.build(values=True)
        self.assertTrue(any(secret in s for s in g.g["strings"]))
        self.assertEqual(g.g["flags"] & 1, 1)

    def test_sites_come_from_tracemalloc(self):
        was = tracemalloc.is_tracing()
        if not was:
            tracemalloc.start(4)
        try:
            kept = [bytearray(100 + i) for i in range(5)]  # graph-site
            g = self.build()
        finally:
            if not was:
                tracemalloc.stop()
        site = "%s:%d" % (__file__, marker_line_here("graph-site"))
        sites = [gd.text(g.g, g.g["site"][i]) for i in range(len(g.g["type"])) if g.type_of(i) == "builtins.bytearray"]
        self.assertGreaterEqual(sum(1 for s in sites if s and same_file(s.rsplit(":", 1)[0], __file__) and s.endswith(":%d" % marker_line_here("graph-site"))), 5, site)
        del kept


def marker_line_here(name):
    tag = "# " + name
    with open(__file__, encoding="utf-8") as f:
        found = [i for i, line in enumerate(f, 1) if line.rstrip().endswith(tag)]
    assert len(found) == 1, (name, found)
    return found[0]


def in_a_child(work):
    """Runs ``work(answer_fd)`` in a forked child; returns what it answered (JSON) there."""
    from leaktrail import forking

    answer_read, answer_write = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            forking.write_all(answer_write, json.dumps(work(answer_write)).encode())
        finally:
            os._exit(0)
    os.close(answer_write)
    with os.fdopen(answer_read, "rb") as f:
        answer = f.read().decode()
    os.waitpid(child, 0)
    return json.loads(answer), answer_write


class DumpTest(unittest.TestCase):
    def test_a_forked_copy_sends_the_graph_and_the_process_pauses_only_for_the_fork(self):
        tmp = tempfile.mkdtemp(prefix="lt-graph-")
        path = os.path.join(tmp, "s")
        sink = Sink(path)
        try:
            # the threads' stacks it lists must not hold the lists they are put in
            garbage, paused = garbage_left_by(lambda: heapgraph.dump(path, os.getpid(), "growth"))
            self.assertEqual(type_names(garbage), [], "types the dump left as cyclic garbage in the process")
            self.assertIsNotNone(paused)
            self.assertLess(paused, 1.0)
            deadline = time.time() + 60
            records = []
            while time.time() < deadline:
                time.sleep(0.1)
                with sink.lock:
                    data = b"".join(sink.chunks)
                records = [json.loads(l) for l in data.split(b"\n")[:-1]]  # whole lines only
                if any(r["k"] == "heap-graph" for r in records):
                    break
        finally:
            sink.stop()
            shutil.rmtree(tmp, ignore_errors=True)
        kinds = [r["k"] for r in records]
        self.assertEqual(kinds, ["heap-graph-begin", "heap-graph"])
        rec = records[1]
        self.assertEqual(rec["pid"], os.getpid())
        self.assertEqual(rec["encoding"], "base64")  # the CLI compresses it
        payload = base64.b64decode(rec["data"])
        self.assertEqual(len(payload), rec["payload_bytes"])
        g = Graph(payload)
        self.assertEqual(len(g.g["type"]), rec["objects"])
        g.follow(g.module(__name__), ATTR, "CATALOG")
        # the agent's own modules are AGENT roots, not the program's
        agent_roots = [g.name_of(i) for i, k in zip(g.g["roots"], g.g["root_kind"]) if k == AGENT_ROOT]
        self.assertIn("leaktrail.heapgraph", agent_roots)

    def test_a_copy_holds_none_of_the_process_descriptors(self):
        from leaktrail import forking

        held = os.pipe()  # stands for the target's stdout pipe, a socket, a file

        def work(answer_fd):
            forking.keep_only(answer_fd)
            still_open = []
            for fd in held + (answer_fd,):
                try:
                    os.fstat(fd)
                    still_open.append(fd)
                except OSError:
                    pass
            return {"open": still_open, "stdout": os.readlink("/proc/self/fd/1"),
                    "count": len(os.listdir("/proc/self/fd"))}

        answer, answer_write = in_a_child(work)
        for fd in held:
            os.close(fd)
        self.assertEqual(answer["open"], [answer_write])
        self.assertEqual(answer["stdout"], "/dev/null")
        self.assertEqual(answer["count"], 5)  # 0, 1, 2, the answer's pipe, and listdir's own

    def test_a_copy_stops_tracing_new_allocations_but_keeps_the_old_traces(self):
        from leaktrail import forking

        was_tracing = tracemalloc.is_tracing()
        if was_tracing:
            tracemalloc.stop()
        forking.remember_untraced_allocators()
        tracemalloc.start(4)
        try:
            before = [object() for _ in range(3)]

            def work(_):
                done = forking.untrace_copy()
                after = [object() for _ in range(3)]
                return {"done": done,
                        "old_traced": tracemalloc.get_object_traceback(before[0]) is not None,
                        "new_traced": tracemalloc.get_object_traceback(after[0]) is not None}

            answer, _ = in_a_child(work)
            self.assertIsNotNone(tracemalloc.get_object_traceback(object()))  # the parent still traces
        finally:
            tracemalloc.stop()
            if was_tracing:
                tracemalloc.start()
        self.assertEqual(answer, {"done": True, "old_traced": True, "new_traced": False})


class PriorityTest(unittest.TestCase):
    def test_a_walk_copy_runs_only_on_idle_cpu(self):
        from leaktrail import forking

        def work(_):
            forking.lowest_priority()
            return [os.nice(0), os.sched_getscheduler(0)]

        (nice, policy), _ = in_a_child(work)
        self.assertEqual(nice, 19)
        self.assertEqual(policy, os.SCHED_IDLE)
        self.assertNotEqual(os.sched_getscheduler(0), os.SCHED_IDLE)  # this process is untouched


class ExitGraphTest(unittest.TestCase):
    def agent(self):
        from leaktrail import agent

        return agent.Agent("/nonexistent", trace="windows", graphs="auto")

    def test_skipped_only_when_a_recent_graph_saw_about_the_same_heap(self):
        from leaktrail import agent

        a = self.agent()
        self.assertFalse(a._recent_graph_shows_the_end())  # no graph yet
        blocks = sys.getallocatedblocks() - a._own_blocks
        a._graph_taken = (time.monotonic(), blocks)
        self.assertTrue(a._recent_graph_shows_the_end())
        a._graph_taken = (time.monotonic() - agent.GRAPH_EXIT_RECENT - 1, blocks)
        self.assertFalse(a._recent_graph_shows_the_end())  # too old
        a._graph_taken = (time.monotonic(), int(blocks / (1 + 2 * agent.GRAPH_GROWTH)))
        self.assertFalse(a._recent_graph_shows_the_end())  # the heap grew since

    def test_a_busy_program_gets_later_graphs_within_their_share(self):
        from leaktrail import agent

        def due(busy, walked, age):
            a = self.agent()
            a._judged_busy = busy
            a._graph_blocks, a._graph_walks = 1, walked  # graphs taken already, of a tiny heap
            return a._graph_due(a._born + age)

        walk = (sys.getallocatedblocks() - self.agent()._own_blocks) * agent.GRAPH_SECONDS_PER_BLOCK
        age = max(2 * walk / agent.GRAPH_BUSY_SHARE, 2 * agent.GRAPH_FIRST)
        room = agent.GRAPH_BUSY_SHARE * age - walk  # what earlier walks may have taken
        self.assertTrue(due(True, room - 0.1 * walk, age))
        self.assertFalse(due(True, room + 0.1 * walk, age))
        self.assertTrue(due(False, room + 0.1 * walk, age))  # a program that waits does not notice


if __name__ == "__main__":
    unittest.main()
