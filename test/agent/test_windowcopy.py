"""Tests of windowcopy: a closed tracing window surveyed in a forked copy.

Each case runs in a fresh interpreter (a script), so that the fork copies a process whose
threads and tracing the test controls.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

from leaktrail import windowcopy
from test_agent import PYTHON_DIR, Sink, clean_env

SURVEY_SCRIPT = r"""
import json, sys, time, tracemalloc
from leaktrail import forking, windowcopy

class Kept(object):
    pass

forking.remember_untraced_allocators()
tracemalloc.start(16)
kept = [Kept() for _ in range(300)]  # KEPT-SITE
first = windowcopy.start(lambda frames: None, set(), 300)
heap, survivors = windowcopy.decode(first[0].wait(30))
site = [frames for type_id, key, has_gc, n, top in survivors if key.endswith(".Kept") for frames, k in top][0]
# a traceback the agent sent already goes by its id
second = windowcopy.start(lambda frames: 42 if frames == site else None, set(), 300)
tracemalloc.stop()
untraced_at_once = not tracemalloc.is_tracing()
heap2, survivors2 = windowcopy.decode(second[0].wait(30))
print(json.dumps({
    "paused": first[1],
    "untraced_at_once": untraced_at_once,
    "kept": [[key, has_gc, n, [[list(map(list, frames)), k] for frames, k in top]]
             for type_id, key, has_gc, n, top in survivors if key.endswith(".Kept")],
    "heap_site": [[list(map(list, frames)), size, count] for frames, size, count in heap["sites"] if frames == site],
    "by_id": [[ref, k] for type_id, key, has_gc, n, top in survivors2 if key.endswith(".Kept") for ref, k in top],
    "heap_by_id": [[ref, count] for ref, size, count in heap2["sites"] if ref == 42],
}))
"""

AGENT_SCRIPT = r"""
import json, sys, time
sys.path.insert(0, sys.argv[2])
from test_agent import Sink
from leaktrail import agent

class Kept(object):
    pass

sink = Sink(sys.argv[1])
agent.start(sys.argv[1], trace="windows", graphs="off")
agent._agent._judged_busy = True  # as "auto" marks a busy program: its windows close in a copy
surveys = []
copy_survey = agent._agent._copy_survey
agent._agent._copy_survey = lambda window: surveys.append(window) or copy_survey(window)
kept = []
end = time.time() + 3.0  # windows open at 1 s and 3 s: the first closes in a copy
while time.time() < end:
    kept.append(Kept())  # AGENT-SITE
    time.sleep(0.0005)
agent.detach()
records = [json.loads(line) for line in sink.stop().decode().splitlines() if line.strip()]
tbs = {r["id"]: r["frames"] for r in records if r["k"] == "tb"}
print(json.dumps({"surveys": len(surveys),
                  "kept": [[r["window"], r["instances"], [[tbs[tb][0], n] for tb, n in r["sites"]]]
                           for r in records if r["k"] == "objsites" and r["type"].endswith(".Kept")]}))
"""


def line_of(script, marker):
    return [i for i, line in enumerate(script.splitlines(), 1) if line.rstrip().endswith("# " + marker)][0]


def run(script, *args):
    r = subprocess.run([sys.executable, "-c", script] + list(args), env=clean_env(PYTHONPATH=PYTHON_DIR),
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError(r.stderr)
    return json.loads(r.stdout.strip().splitlines()[-1])


class SurveyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.out = run(SURVEY_SCRIPT)
        cls.site = ["<string>", line_of(SURVEY_SCRIPT, "KEPT-SITE")]

    def test_the_copy_finds_what_the_window_left_alive_and_where(self):
        kept = self.out["kept"]
        self.assertEqual(len(kept), 1, kept)
        key, has_gc, instances, top = kept[0]
        self.assertTrue(has_gc)
        self.assertGreaterEqual(instances, 300)
        self.assertEqual(top[0][0][0], self.site, top)
        self.assertGreaterEqual(top[0][1], 300)

    def test_the_copy_groups_the_traces_by_traceback(self):
        self.assertEqual(len(self.out["heap_site"]), 1, self.out["heap_site"])
        frames, size, count = self.out["heap_site"][0]
        self.assertEqual(frames[0], self.site)
        self.assertGreaterEqual(count, 300)

    def test_a_traceback_already_sent_goes_by_its_id(self):
        self.assertEqual([ref for ref, n in self.out["by_id"]][:1], [42], self.out["by_id"])
        self.assertEqual(len(self.out["heap_by_id"]), 1)

    def test_the_process_pauses_for_the_fork_only_and_is_untraced_at_once(self):
        self.assertLess(self.out["paused"], 0.5)
        self.assertTrue(self.out["untraced_at_once"])


class SurveyEndsTest(unittest.TestCase):
    @staticmethod
    def answered(data):
        """What a survey makes of ``data``, written by a copy that then ended; and if it is done."""
        read_end, write_end = os.pipe()
        os.set_blocking(read_end, False)
        survey = windowcopy.Survey(read_end, time.monotonic() + 30)
        os.write(write_end, data)
        os.close(write_end)
        return survey.wait(5), survey.done

    def test_a_copy_cut_short_gives_no_result(self):
        self.assertEqual(self.answered(b'4242\n{"heap": {"sites"'), (None, True))

    def test_the_answer_follows_the_copys_pid(self):
        self.assertEqual(self.answered(b'4242\n{"heap": {"sites": []}, "objects": []}'),
                         ({"heap": {"sites": []}, "objects": []}, True))

    def test_the_end_hurries_a_copy_left_to_idle_cpu(self):
        # a stand-in for a copy: it announces its pid, then takes the lowest priority and waits
        copy = subprocess.Popen([sys.executable, "-c", (
            "import os, sys, time\n"
            "from leaktrail import forking\n"
            "forking.write_all(1, b'%d\\n' % os.getpid())\n"
            "forking.lowest_priority()\n"
            "time.sleep(30)\n")], stdout=subprocess.PIPE, env=clean_env(PYTHONPATH=PYTHON_DIR))
        try:
            fd = os.dup(copy.stdout.fileno())
            os.set_blocking(fd, False)
            survey = windowcopy.Survey(fd, time.monotonic() + 30)
            give_up = time.monotonic() + 10
            while os.sched_getscheduler(copy.pid) != os.SCHED_IDLE and time.monotonic() < give_up:
                time.sleep(0.01)
            self.assertEqual(os.sched_getscheduler(copy.pid), os.SCHED_IDLE)
            hurried = survey.hurry()
            if os.geteuid() == 0:  # only a privileged process may undo SCHED_IDLE
                self.assertTrue(hurried)
                self.assertEqual(os.sched_getscheduler(copy.pid), os.SCHED_OTHER)
                self.assertEqual(os.getpriority(os.PRIO_PROCESS, copy.pid), 0)
            else:
                self.assertFalse(hurried)
                self.assertEqual(os.sched_getscheduler(copy.pid), os.SCHED_IDLE)
            survey.close()
        finally:
            copy.kill()
            copy.wait()
            copy.stdout.close()

    def test_a_copy_that_never_answers_is_given_up(self):
        read_end, write_end = os.pipe()
        os.set_blocking(read_end, False)
        try:
            survey = windowcopy.Survey(read_end, time.monotonic() + 0.2)
            self.assertIsNone(survey.wait(5))
            self.assertTrue(survey.done)
        finally:
            os.close(write_end)


class AgentWindowTest(unittest.TestCase):
    def test_the_agent_sends_the_copys_survivors_as_the_windows(self):
        with tempfile.TemporaryDirectory() as d:
            found = run(AGENT_SCRIPT, os.path.join(d, "s.sock"), os.path.dirname(os.path.abspath(__file__)))
        self.assertGreaterEqual(found["surveys"], 1)  # the windows closed in a copy
        self.assertTrue(found["kept"], "no objsites record for Kept")
        line = line_of(AGENT_SCRIPT, "AGENT-SITE")
        for window, instances, sites in found["kept"]:
            self.assertIsNotNone(window)
            self.assertLess(window[0], window[1])
            self.assertEqual(sites[0][0], ["<string>", line], sites)
            self.assertGreater(instances, 0)


if __name__ == "__main__":
    unittest.main()
