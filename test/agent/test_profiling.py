"""Tests of the stack sampler (`leaktrail profile`) and the line profiler (`leaktrail lines`).

Run from the repository root:

    PYTHONPATH=python python3 -m unittest discover -s test/agent -t test/agent
"""
import gc
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import tracemalloc
import unittest
import weakref

from leaktrail import lines as lines_mod
from leaktrail.lines import LineProfiler, format_table
from leaktrail.stack_sampler import StackSampler

HERE = os.path.abspath(__file__)
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
PYTHON_DIR = os.path.join(REPO, "python")


def marker_line(name):
    tag = "# " + name
    with open(HERE, encoding="utf-8") as f:
        found = [i for i, line in enumerate(f, 1) if line.rstrip().endswith(tag)]
    if len(found) != 1:
        raise AssertionError("marker %r found %d times" % (name, len(found)))
    return found[0]


def busy_loop(seconds):
    end = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


def sleepy(seconds):
    time.sleep(seconds)


KEPT = []


def keep_some():
    KEPT.append(bytearray(300_000))  # KEEP-SITE


def stacks_of(data, name):
    """Sum of [samples, cpu] over the stacks whose innermost frame is function `name`."""
    samples = cpu = 0
    for _thread, flat, n, c, _alloc in data["stacks"]:
        if flat and data["codes"][flat[0]][1] == name:
            samples += n
            cpu += c
    return samples, cpu


def _mp_child(seconds):
    busy_loop(seconds)


class StackSamplerTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lt-sampler-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def read(self, pid=None):
        with open(os.path.join(self.dir, "%d.json" % (pid or os.getpid()))) as f:
            return json.load(f)

    def test_busy_thread_gets_the_cpu_and_the_sleeping_one_the_wall_samples(self):
        sampler = StackSampler(self.dir, hz=200)
        sampler.start()
        try:
            used = []  # the busy thread's own CPU: on a loaded machine it gets less than 0.4 s

            def busy():
                started = time.thread_time()
                busy_loop(0.4)
                used.append(time.thread_time() - started)

            a = threading.Thread(target=busy)
            b = threading.Thread(target=sleepy, args=(0.4,))
            a.start()
            b.start()
            a.join()
            b.join()
        finally:
            sampler.stop()
            sampler.flush(final=True)
        data = self.read()
        self.assertEqual(data["schema"], "leaktrail.stacks/1")
        self.assertGreater(data["ticks"], 20)
        busy_samples, busy_cpu = stacks_of(data, "busy_loop")
        sleepy_samples, sleepy_cpu = stacks_of(data, "sleepy")
        self.assertGreater(busy_samples, 10)
        self.assertGreater(sleepy_samples, 10)  # wall clock: it was there
        if data["cpu_clock"]:
            # the CPU it used, within the 5 ms ticks' rounding (about 0.4 s on an idle machine)
            self.assertGreater(busy_cpu, 0.7e9 * used[0])
            self.assertLess(busy_cpu, 1.3e9 * used[0] + 0.02e9)
            self.assertLess(sleepy_cpu, busy_cpu / 10)
        names = {row[1] for row in data["codes"]}
        self.assertNotIn("_run", names, "the sampler's own thread must not be sampled")
        self.assertEqual(data["errors"], [])

    def test_frames_are_not_kept_alive_past_a_tick(self):
        class Thing:
            pass

        refs = []

        def hold():
            obj = Thing()
            refs.append(weakref.ref(obj))
            busy_loop(0.02)

        sampler = StackSampler(self.dir, hz=1000)
        sampler.start()
        try:
            for _ in range(20):
                hold()
                # the frame of hold() has returned: only a kept frame could keep obj alive
                self.assertIsNone(refs[-1](), "a sampled frame outlived its function")
        finally:
            sampler.stop()

    def test_memory_mode_finds_the_retaining_line(self):
        was_tracing = tracemalloc.is_tracing()
        sampler = StackSampler(self.dir, hz=100, memory=True, frames=4)
        sampler.start()
        try:
            keep_some()
        finally:
            sampler.stop()
            sampler.flush(final=True)
            if not was_tracing:
                tracemalloc.stop()
            del KEPT[:]
        data = self.read()
        self.assertTrue(data["memory"])
        site = marker_line("KEEP-SITE")
        at_site = sum(size for frames, size, _n in data["retained"] if frames and frames[0] == [HERE, site])
        self.assertGreaterEqual(at_site, 300_000)
        for frames, _size, _n in data["retained"]:
            self.assertFalse(any(f[0].startswith(PYTHON_DIR) for f in frames), "leaktrail's own blocks are left out")

    def test_forked_multiprocessing_worker_writes_its_own_file(self):
        if "fork" not in multiprocessing.get_all_start_methods():
            self.skipTest("no fork start method")
        sampler = StackSampler(self.dir, hz=200)
        sampler.start()
        try:
            p = multiprocessing.get_context("fork").Process(target=_mp_child, args=(0.3,))
            p.start()
            p.join(30)
            self.assertEqual(p.exitcode, 0)
        finally:
            sampler.stop()
        child = self.read(p.pid)
        self.assertEqual(child["pid"], p.pid)
        samples, _cpu = stacks_of(child, "busy_loop")
        self.assertGreater(samples, 5)


# -- line profiler -------------------------------------------------------------------------


def allocating(n):
    total = 0  # QUIET-LINE
    for _ in range(n):
        tmp = bytearray(10_000)  # CHURN-LINE
        total += len(tmp)
    KEPT.append(bytearray(200_000))  # KEPT-LINE
    return total


class LineProfilerTest(unittest.TestCase):
    def tearDown(self):
        del KEPT[:]

    def run_profiled(self, n, calls=1):
        profiler = LineProfiler(frames=8)
        profiler.add_code(allocating.__code__)
        previous = sys.gettrace()
        if lines_mod._MONITORING:
            profiler.install()
            try:
                for _ in range(calls):
                    allocating(n)
            finally:
                profiler.finish()
        else:
            sys.settrace(profiler._trace_call)
            try:
                for _ in range(calls):
                    allocating(n)
            finally:
                sys.settrace(previous)
                profiler.finish()
        return profiler.results()

    def rows(self, results):
        (fn,) = results["functions"]
        return {r[0]: r[1:] for r in fn["lines"]}, fn

    def test_hits_allocated_net_and_kept(self):
        results = self.run_profiled(50, calls=2)
        rows, fn = self.rows(results)
        self.assertEqual(fn["calls"], 2)
        churn = rows[marker_line("CHURN-LINE")]
        kept = rows[marker_line("KEPT-LINE")]
        quiet = rows[marker_line("QUIET-LINE")]
        self.assertEqual(churn[0], 100)  # hits
        # allocated: every bytearray, freed or not (less ~100 B a hit of accounting taken off)
        self.assertGreaterEqual(churn[1], 100 * 10_000 * 0.98)
        self.assertLess(churn[3], 50_000)  # kept: the loop's buffers died with the call
        self.assertGreaterEqual(kept[3], 2 * 200_000)  # kept: both calls' buffers live on
        self.assertGreaterEqual(kept[4], 2)  # blocks
        self.assertLess(quiet[1], 2_000)  # allocated: our own accounting is taken off
        self.assertFalse(tracemalloc.is_tracing(), "tracemalloc is off again after the call")

    def test_many_hits_do_not_add_up_to_phantom_allocations(self):
        results = self.run_profiled(20_000)
        rows, _ = self.rows(results)
        total_line = marker_line("CHURN-LINE") + 1  # total += len(tmp): allocates little
        self.assertLess(rows[total_line][1], 20_000 * 64, rows[total_line])

    def test_spec_matches_a_module_function_when_it_runs(self):
        tmp = tempfile.mkdtemp(prefix="lt-lines-")
        self.addCleanup(shutil.rmtree, tmp, True)
        with open(os.path.join(tmp, "lt_lines_mod.py"), "w") as f:
            f.write("def target(n):\n    return [bytes(1000) for _ in range(n)]\n\ndef other():\n    return 1\n")
        script = textwrap.dedent(
            """
            import sys
            sys.path.insert(0, %r)
            import lt_lines_mod
            keep = lt_lines_mod.target(100)
            lt_lines_mod.other()
            """
            % tmp
        )
        out = os.path.join(tmp, "out")
        os.mkdir(out)
        env = dict(os.environ, PYTHONPATH=PYTHON_DIR, LEAKTRAIL_LINES="lt_lines_mod:target,lt_lines_mod:absent", LEAKTRAIL_LINES_OUT=out)
        done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout, "")
        (name,) = os.listdir(out)
        with open(os.path.join(out, name)) as f:
            results = json.load(f)
        self.assertEqual(results["unmatched"], ["lt_lines_mod:absent"])
        (fn,) = results["functions"]
        self.assertEqual(fn["spec"], "lt_lines_mod:target")
        rows = {r[0]: r[1:] for r in fn["lines"]}
        self.assertGreaterEqual(rows[2][3], 100 * 1000)  # kept: the list comprehension's bytes
        self.assertIn("return [bytes(1000)", format_table(results))

    def test_decorator_prints_the_table_at_exit_and_keeps_output_and_status(self):
        tmp = tempfile.mkdtemp(prefix="lt-deco-")
        self.addCleanup(shutil.rmtree, tmp, True)
        path = os.path.join(tmp, "deco.py")
        script = textwrap.dedent(
            """
            import sys
            from leaktrail.lines import profile
            KEEP = []

            @profile
            def work():
                KEEP.append(bytearray(123_456))
                return 7

            print("result", work())
            sys.exit(4)
            """
        )
        with open(path, "w") as f:
            f.write(script)
        env = dict(os.environ, PYTHONPATH=PYTHON_DIR)
        env.pop("LEAKTRAIL_LINES", None)
        done = subprocess.run([sys.executable, path], env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 4, done.stderr)
        self.assertEqual(done.stdout, "result 7\n")
        self.assertIn("KEEP.append(bytearray(123_456))", done.stderr)
        line = [l for l in done.stderr.splitlines() if "KEEP.append" in l][0]
        self.assertRegex(line, r"\b1\s+12\d kB\s+12\d kB\s+12\d kB\s+\d+\s")


if __name__ == "__main__":
    unittest.main()
