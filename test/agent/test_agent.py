"""Tests of the leaktrail agent (stdlib only; CPython 3.9 and newer).

Run from the repository root:

    PYTHONPATH=python python3 -m unittest discover -s test/agent -t test/agent
"""
import gc
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import unittest

from leaktrail import garbage, heapwalk
from leaktrail.transport import Transport

HERE = os.path.abspath(__file__)
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))  # <repo>/test/agent/this file
PYTHON_DIR = os.path.join(REPO, "python")
TUPLE_RACE = os.path.normpath(os.path.join(REPO, "..", "shared", "stress", "tuple_race.py"))


def marker_line(name):
    """Line number of the line in this file that ends with the comment ``# <name>``."""
    tag = "# " + name
    with open(HERE, encoding="utf-8") as f:
        found = [i for i, line in enumerate(f, 1) if line.rstrip().endswith(tag)]
    if len(found) != 1:
        raise AssertionError("marker %r found %d times in %s" % (name, len(found), HERE))
    return found[0]


def same_file(a, b):
    return os.path.realpath(a) == os.path.realpath(b)


class Tracing:
    """Starts tracemalloc for a block (with enough frames) and stops it again if it started it."""

    def __init__(self, frames=16):
        self.frames = frames
        self.started = False

    def __enter__(self):
        if not tracemalloc.is_tracing():
            tracemalloc.start(self.frames)
            self.started = True
        return self

    def __exit__(self, *exc):
        if self.started:
            tracemalloc.stop()


class GcDisabled:
    def __enter__(self):
        self.was_enabled = gc.isenabled()
        gc.collect()
        gc.disable()
        return self

    def __exit__(self, *exc):
        if self.was_enabled:
            gc.enable()
        gc.collect()


def garbage_left_by(work):
    """(the objects ``work()`` left as cyclic garbage, what it returned).

    The agent must leave the collector nothing: what it leaves is counted in the program's
    allocated blocks until a collection frees it, as a drop in the program's heap.
    """
    gc.collect()
    saved = gc.get_debug()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        result = work()
        gc.collect()
        left = list(gc.garbage)
        del gc.garbage[:]
    finally:
        gc.set_debug(saved)
    return left, result


def type_names(objects):
    return sorted({type(o).__name__ for o in objects})


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEAKTRAIL_")}
    for k in ("PYTHONSTARTUP", "PYTHONNOUSERSITE", "PYTHONSAFEPATH"):
        env.pop(k, None)
    env.update(extra)
    return env


class CensusTest(unittest.TestCase):
    def test_counts_instances_of_a_class_exactly(self):
        class Widget(object):
            def __init__(self, n):
                self.n = n

        before = heapwalk.census().get(Widget, 0)
        widgets = [Widget(i) for i in range(1234)]
        after = heapwalk.census().get(Widget, 0)
        self.assertEqual(after - before, 1234)
        del widgets
        gone = heapwalk.census().get(Widget, 0)
        self.assertEqual(gone, before)

    def test_sees_bytes_held_in_an_untracked_dict(self):
        n = 2000
        before = heapwalk.census().get(bytes, 0)
        cache = {i: ("payload-%d-" % i).encode() * 4 for i in range(n)}
        # precondition: CPython does not track a dict of atomic keys and values, so
        # gc.get_objects() never sees it nor its bytes.
        self.assertFalse(gc.is_tracked(cache))
        holder = [cache]  # a tracked container refers to it, as a module's globals would
        after = heapwalk.census().get(bytes, 0)
        delta = after - before
        self.assertGreaterEqual(delta, n)
        self.assertLess(delta, n + 200, "far more bytes counted than were created")
        del holder, cache
        self.assertLess(heapwalk.census().get(bytes, 0) - before, 200)

    def test_type_key(self):
        class Inner(object):
            pass

        self.assertEqual(heapwalk.type_key(bytes), "builtins.bytes")
        self.assertEqual(heapwalk.type_key(Inner), "%s.%s" % (__name__, Inner.__qualname__))

    def test_type_origin(self):
        from leaktrail.agent import library_paths

        class Mine(object):
            pass

        paths = library_paths()
        self.assertEqual(heapwalk.type_origin(Mine, paths), "user")  # this file is no library
        self.assertEqual(heapwalk.type_origin(threading.Event, paths), "library")
        self.assertEqual(heapwalk.type_origin(list, paths), "builtin")
        self.assertEqual(heapwalk.type_origin(type(threading.Lock()), paths), "builtin")


class ObjectSitesTest(unittest.TestCase):
    def test_finds_the_line_that_allocated_instances(self):
        class Record(object):
            def __init__(self, n):
                self.n = n

        with Tracing():
            records = []
            for i in range(57):
                records.append(Record(i))  # ALLOC-OBJSITES
            sites = heapwalk.object_sites([Record])
        line = marker_line("ALLOC-OBJSITES")
        mine = {raw: n for (type_id, raw), n in sites.items() if type_id == id(Record)}
        self.assertTrue(mine, "no sites returned for Record: %r" % (sites,))
        self.assertNotIn(None, mine, "some instances came back untraced: %r" % (mine,))
        self.assertEqual(sum(mine.values()), 57)
        self.assertEqual(len(mine), 1, "instances spread over several tracebacks: %r" % (mine,))
        raw = next(iter(mine))
        innermost = raw[0]
        self.assertTrue(same_file(innermost[0], HERE), "innermost frame is %r" % (innermost,))
        self.assertEqual(innermost[1], line)
        self.assertEqual(len(records), 57)

    def test_only_the_types_asked_for(self):
        class Asked(object):
            pass

        class NotAsked(object):
            pass

        with Tracing():
            keep = [Asked() for _ in range(10)] + [NotAsked() for _ in range(10)]
            sites = heapwalk.object_sites([Asked])
        self.assertEqual({type_id for type_id, _ in sites}, {id(Asked)})
        self.assertEqual(sum(sites.values()), 10)
        self.assertEqual(len(keep), 20)


    def test_leaves_no_cycle_holding_the_heap_when_it_looks_at_only_some_instances(self):
        # more instances than a walk looks up: it stops looking part-way, and once left
        # its iterators and the heap list it read formed a cycle that kept every object
        # referenced until the next collection
        keep = [str(i) * 3 for i in range(heapwalk._MAX_LOOKED_AT + 20000)]

        def walk():
            with Tracing(frames=4):
                return heapwalk.object_sites([str]), heapwalk.traced_objects()

        garbage, (sites, survivors) = garbage_left_by(walk)
        left = [len(o) for o in garbage if type(o) is list and len(o) > 1000]
        self.assertEqual(left, [], "heap lists (their lengths) kept as garbage, with %s" % (type_names(garbage),))
        self.assertLessEqual(sum(sites.values()), heapwalk._MAX_LOOKED_AT)
        self.assertGreater(sum(sites.values()), 0)
        self.assertIsInstance(survivors, dict)
        self.assertEqual(len(keep), heapwalk._MAX_LOOKED_AT + 20000)

    def test_leaves_nothing_for_the_collector(self):
        # a window's walk selects what was allocated under tracing, its own iterators
        # included: a tee buffer holding one at the end closed a cycle through the chain
        # (~250 objects left after every window, which the collector freed later as a
        # drop in the program's block count)
        keep = [("kept", i, float(i)) for i in range(2000)]

        def walk():
            with Tracing(frames=4):
                made = [("made", i, float(i)) for i in range(300)]
                return made, {"census": heapwalk.census(), "object_sites": heapwalk.object_sites([tuple, float]),
                              "traced_objects": heapwalk.traced_objects()}

        garbage, (made, walks) = garbage_left_by(walk)
        self.assertEqual(type_names(garbage), [], "types left as cyclic garbage by the walks")
        self.assertGreaterEqual(sum(walks["traced_objects"].values()), len(made))
        self.assertGreaterEqual(walks["census"].get(tuple, 0), len(keep) + len(made))
        self.assertGreater(sum(walks["object_sites"].values()), 0)


class GarbageTest(unittest.TestCase):
    def test_counts_cyclic_garbage_and_not_live_objects(self):
        class Node(object):
            def __init__(self):
                self.other = None

        class LiveNode(object):
            def __init__(self):
                self.other = None

        key = "%s.%s" % (Node.__module__, Node.__qualname__)
        live_key = "%s.%s" % (LiveNode.__module__, LiveNode.__qualname__)
        self.assertIn("<locals>.Node", key)
        with GcDisabled():
            for _ in range(300):
                a, b = Node(), Node()
                a.other, b.other = b, a
            del a, b
            live = []
            for _ in range(200):
                a, b = Node(), Node()
                a.other, b.other = b, a
                c, d = LiveNode(), LiveNode()
                c.other, d.other = d, c
                live.append((a, c))
            del a, b, c, d
            result = garbage.probe(timeout=60.0)
        self.assertIsNotNone(result, "probe() returned None")
        self.assertGreaterEqual(result["types"].get(key, 0), 600)
        # the 200 live cycles of Node are reachable: exactly the 600 dead ones count
        self.assertEqual(result["types"].get(key, 0), 600)
        self.assertEqual(result["types"].get(live_key, 0), 0)
        self.assertGreaterEqual(result["unreachable"], 600)
        self.assertGreater(result["objects"], 1600)
        self.assertEqual(len(live), 200)

    def test_nothing_unreachable_when_there_is_no_garbage(self):
        class Lonely(object):
            pass

        key = "%s.%s" % (Lonely.__module__, Lonely.__qualname__)
        with GcDisabled():
            keep = [Lonely() for _ in range(100)]
            result = garbage.probe(timeout=60.0)
        self.assertIsNotNone(result)
        self.assertEqual(result["types"].get(key, 0), 0)
        self.assertEqual(len(keep), 100)

    def test_block_traceback_gives_the_allocating_line(self):
        class Cell(object):
            def __init__(self):
                self.peer = None

        key = "%s.%s" % (Cell.__module__, Cell.__qualname__)
        with GcDisabled(), Tracing():
            for _ in range(40):
                x = Cell()  # ALLOC-GARBAGE
                x.peer = x
            del x
            result = garbage.probe(timeout=60.0, per_type=200)
            self.assertIsNotNone(result)
            self.assertEqual(result["types"].get(key, 0), 40)
            addresses = result["blocks"].get(key, [])
            self.assertEqual(len(addresses), 40)
            tracebacks = [garbage.block_traceback(a) for a in addresses]
        line = marker_line("ALLOC-GARBAGE")
        for raw in tracebacks:
            self.assertIsNotNone(raw, "an address from probe() has no traceback")
            innermost = raw[0]
            self.assertTrue(same_file(innermost[0], HERE), "innermost frame is %r" % (innermost,))
            self.assertEqual(innermost[1], line)


class TransportTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lt-transport-")
        self.path = os.path.join(self.dir, "s.sock")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def _listen(self):
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(self.path)
        server.listen(4)
        return server

    def test_send_reaches_a_listening_peer(self):
        server = self._listen()
        try:
            t = Transport(self.path)
            conn, _ = server.accept()
            self.assertTrue(t.send({"k": "hello", "pid": 1}))
            conn.settimeout(5)
            self.assertEqual(conn.recv(1000), b'{"k":"hello","pid":1}\n')
            t.close()
            self.assertTrue(t.closed)
            self.assertFalse(t.send({"k": "bye"}))
            conn.close()
        finally:
            server.close()

    def test_peer_closed_after_accepting(self):
        server = self._listen()
        t = Transport(self.path)
        conn, _ = server.accept()
        conn.close()
        server.close()
        os.unlink(self.path)
        results = [t.send({"k": "sample", "i": i, "pad": "x" * 4096}) for i in range(50)]
        self.assertFalse(results[0], "a send to a closed peer succeeded")
        self.assertEqual(set(results), {False})
        self.assertTrue(t.closed)

    def test_listener_closed_without_accepting(self):
        server = self._listen()
        t = Transport(self.path)
        server.close()
        results = [t.send({"k": "sample", "i": i, "pad": "x" * 4096}) for i in range(50)]
        self.assertFalse(results[-1])
        self.assertTrue(t.closed)

    def test_peer_that_stops_reading_does_not_raise(self):
        # The CLI goes away while the kernel buffer is full: send must still come back False.
        server = self._listen()
        t = Transport(self.path, timeout=1.0)
        conn, _ = server.accept()
        closer = threading.Timer(0.5, conn.close)
        closer.start()
        try:
            results = [t.send({"k": "sample", "pad": "y" * 65536}) for _ in range(200)]
        finally:
            closer.cancel()
            server.close()
        self.assertFalse(results[-1])
        self.assertTrue(t.closed)


class SitecustomizeTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lt-site-")
        self.marker = os.path.join(self.dir, "marker.txt")
        with open(os.path.join(self.dir, "sitecustomize.py"), "w") as f:
            f.write(
                "import os\n"
                "with open(%r, 'w') as f:\n"
                "    f.write('user sitecustomize ran')\n" % (self.marker,)
            )

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def _run(self, env, code):
        return subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            cwd=self.dir,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            universal_newlines=True,
            timeout=60,
        )

    def test_user_sitecustomize_still_runs_without_the_cli(self):
        env = clean_env(PYTHONPATH=PYTHON_DIR + os.pathsep + self.dir)
        code = (
            "import sys\n"
            "print(sys.modules['sitecustomize'].__file__)\n"
            "import threading, tracemalloc\n"
            "agent = sys.modules.get('leaktrail.agent')\n"
            "started = agent is not None and agent._agent is not None\n"
            "threads = [t.name for t in threading.enumerate() if t.name.startswith('leaktrail')]\n"
            "print(started or bool(threads) or tracemalloc.is_tracing())\n"
        )
        proc = self._run(env, code)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stderr, "")
        self.assertTrue(os.path.exists(self.marker), "the user's sitecustomize did not run")
        with open(self.marker) as f:
            self.assertEqual(f.read(), "user sitecustomize ran")
        module_file, agent_running = proc.stdout.splitlines()
        # sys.modules['sitecustomize'] is the user's, as it would be without leaktrail
        self.assertTrue(same_file(module_file, os.path.join(self.dir, "sitecustomize.py")), module_file)
        # no LEAKTRAIL_SOCKET: the agent stays off (no thread, no tracemalloc)
        self.assertEqual(agent_running, "False")

    def test_user_sitecustomize_runs_next_to_a_live_agent(self):
        sock_path = os.path.join(self.dir, "a.sock")
        server = Sink(sock_path)
        try:
            env = clean_env(PYTHONPATH=PYTHON_DIR + os.pathsep + self.dir, LEAKTRAIL_SOCKET=sock_path)
            proc = self._run(env, "print('hi')")
        finally:
            received = server.stop()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout, "hi\n")
        self.assertEqual(proc.stderr, "")
        self.assertTrue(os.path.exists(self.marker), "the user's sitecustomize did not run")
        self.assertIn(b'"k":"hello"', received)
        self.assertIn(b'"k":"bye"', received)


class Sink(object):
    """An AF_UNIX server that accepts any number of agents and keeps what they send."""

    def __init__(self, path):
        self.path = path
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(16)
        self.server.settimeout(0.2)
        self.chunks = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = []
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    def _accept(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.server.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            th = threading.Thread(target=self._read, args=(conn,), daemon=True)
            th.start()
            self.threads.append(th)

    def _read(self, conn):
        conn.settimeout(0.2)
        with conn:
            while True:
                try:
                    data = conn.recv(1 << 16)
                except socket.timeout:
                    if self.stopping.is_set():
                        return
                    continue
                except OSError:
                    return
                if not data:
                    return
                with self.lock:
                    self.chunks.append(data)

    def stop(self):
        self.stopping.set()
        self.acceptor.join(5)
        for th in self.threads:
            th.join(5)
        self.server.close()
        with self.lock:
            return b"".join(self.chunks)


LIFECYCLE_SCRIPT = r"""
import gc, os, socket, sys, threading, time, tracemalloc, weakref
path = sys.argv[1]
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(path)
server.listen(4)
conns = []
def accept():
    while True:
        try:
            conns.append(server.accept()[0])
        except OSError:
            return
threading.Thread(target=accept, daemon=True).start()
callbacks = len(gc.callbacks)
from leaktrail import agent
# 1. detach leaves nothing behind, not even the Agent object
agent.start(path, trace="full")
time.sleep(0.5)
ref = weakref.ref(agent._agent)
agent.detach()
gc.collect()
print("detached", tracemalloc.is_tracing(), len(gc.callbacks) - callbacks, ref() is None,
      any(t.name == "leaktrail-agent" for t in threading.enumerate()))
# 2. the CLI going away makes the agent wind down by itself
agent.start(path, trace="full")
time.sleep(0.5)
was = tracemalloc.is_tracing()
for c in conns:
    c.close()
deadline = time.time() + 5
while time.time() < deadline and agent._agent is not None:
    time.sleep(0.05)
time.sleep(0.2)
print("orphaned", was, tracemalloc.is_tracing(), len(gc.callbacks) - callbacks,
      any(t.name == "leaktrail-agent" for t in threading.enumerate()))
"""


class LifecycleTest(unittest.TestCase):
    def run_script(self):
        with tempfile.TemporaryDirectory() as d:
            r = subprocess.run([sys.executable, "-c", LIFECYCLE_SCRIPT, os.path.join(d, "s.sock")],
                               env=clean_env(PYTHONPATH=PYTHON_DIR), capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return dict((line.split()[0], line.split()[1:]) for line in r.stdout.splitlines())

    def test_detach_and_a_lost_cli_leave_the_process_as_it_was(self):
        out = self.run_script()
        # tracing off, no gc callback left, the Agent freed, no agent thread
        self.assertEqual(out["detached"], ["False", "0", "True", "False"])
        # it was tracing while connected; once the CLI went away: off, no callback, no thread
        self.assertEqual(out["orphaned"], ["True", "False", "0", "False"])


AUTO_SCRIPT = r"""
import json, sys, time, tracemalloc
sys.path.insert(0, sys.argv[2])
from test_agent import Sink
from leaktrail import agent
sink = Sink(sys.argv[1])
busy = sys.argv[3] == "busy"
agent.start(sys.argv[1], trace="auto", graphs="off")  # this Sink stops before a walk could end
kept = []
end = time.time() + 5.0  # auto judges over the second after the first: room for a slow tick
while time.time() < end:
    if busy:
        kept.append([{"n": i} for i in range(20)][-1])  # allocation-heavy, a CPU kept busy
    else:
        time.sleep(0.01)  # mostly waiting
tracing = tracemalloc.is_tracing()
agent.detach()
records = [json.loads(line) for line in sink.stop().decode().splitlines() if line.strip()]
switches = [r for r in records if r["k"] == "trace-switch"]
windows = [r for r in records if r["k"] == "heap" and r.get("window")]
print(json.dumps({"hello": records[0].get("trace_mode"), "switches": len(switches), "tracing": tracing,
                  "first_window_from_start": any(w["window"][0] <= records[0]["t"] + 0.1 for w in windows),
                  "errors": [r for r in records if r["k"] == "agent-error"]}))
"""


class AutoModeTest(unittest.TestCase):
    def run_auto(self, load):
        with tempfile.TemporaryDirectory() as d:
            r = subprocess.run([sys.executable, "-c", AUTO_SCRIPT, os.path.join(d, "s.sock"), os.path.dirname(os.path.abspath(__file__)), load],
                               env=clean_env(PYTHONPATH=PYTHON_DIR), capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout.strip().splitlines()[-1])

    def test_a_busy_program_leaves_whole_run_tracing_for_windows(self):
        out = self.run_auto("busy")
        self.assertEqual(out["hello"], "auto")
        self.assertEqual(out["switches"], 1)
        # the traced start became the first window, surveyed in a copy: on a machine kept
        # busy (CI), a copy left to idle CPU answers only once the end hurries it
        self.assertTrue(out["first_window_from_start"], out)
        self.assertEqual(out["errors"], [])

    def test_a_waiting_program_stays_fully_traced(self):
        out = self.run_auto("idle")
        self.assertEqual(out["switches"], 0)
        self.assertTrue(out["tracing"])

    def test_the_verdict_over_the_last_checks(self):
        from leaktrail.agent import Agent

        verdict = Agent._auto_verdict
        self.assertEqual(verdict([0.95, 0.85], []), "busy")  # a CPU kept busy, twice in a row
        self.assertIsNone(verdict([0.95], []))  # once is not enough
        self.assertIsNone(verdict([None, 0.95], []))  # imports: start-up, not judged
        self.assertIsNone(verdict([0.95, 0.5], []))  # a program that waits at times
        # half a CPU over a whole second
        self.assertEqual(verdict([0.6, 0.7], [0.6, 0.7, 0.5, 0.6, 0.7]), "half")
        self.assertIsNone(verdict([0.6, 0.7], [0.5, 0.6, 0.7]))  # not a whole second yet
        self.assertIsNone(verdict([0.6, 0.7], [0.6, 0.7, None, 0.6, 0.7]))  # it held start-up
        self.assertIsNone(verdict([0.6, 0.4], [0.4, 0.5, 0.45, 0.6, 0.4]))  # under half, on average


class DoNoHarmTest(unittest.TestCase):
    def test_tuple_race_under_a_real_agent(self):
        if not os.path.exists(TUPLE_RACE):
            self.skipTest("stress program not found at %s (it lives in the shared folder next to the repo)" % TUPLE_RACE)
        tmp = tempfile.mkdtemp(prefix="lt-race-")
        sock_path = os.path.join(tmp, "agent.sock")
        server = Sink(sock_path)
        try:
            env = clean_env(PYTHONPATH=PYTHON_DIR, LEAKTRAIL_SOCKET=sock_path, LEAKTRAIL_FRAMES="16")
            started = time.time()
            proc = subprocess.run(
                [sys.executable, TUPLE_RACE, "5"],  # seconds: room for 3 censuses on a loaded machine
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                universal_newlines=True,
                timeout=120,
            )
            elapsed = time.time() - started
        finally:
            received = server.stop()
            shutil.rmtree(tmp, ignore_errors=True)
        self.assertIn("0 failed operations", proc.stdout, proc.stdout)
        self.assertEqual(proc.returncode, 0, proc.stdout)
        self.assertGreaterEqual(elapsed, 5.0)
        # the agent really watched it: it said hello and took several censuses
        self.assertIn(b'"k":"hello"', received)
        self.assertGreaterEqual(received.count(b'"k":"census"'), 3, "the agent took fewer than 3 censuses")


if __name__ == "__main__":
    unittest.main()
