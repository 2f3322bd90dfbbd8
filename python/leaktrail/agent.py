"""The in-process agent: measures, ships records to the CLI, decides nothing.

One daemon thread does all the work on a schedule.  Each job knows its cost and waits
long enough after running that the agent's share of the CPU stays within a budget
("cheap always, expensive briefly").  Every job is wrapped so that an exception in the
agent is reported to the CLI and never raised into the target.
"""
import atexit
import gc
import os
import sys
import sysconfig
import threading
import time
import tracemalloc

from . import forking, heapgraph, heapwalk, sampler, windowcopy
from .frames import TracebackTable
from .transport import Transport

try:
    from _tracemalloc import _get_traces
except ImportError:  # pragma: no cover
    _get_traces = None

_HERE = os.path.dirname(os.path.abspath(__file__))

# Seconds between runs of each job, at least; and the share of wall time it may take.
_SCHEDULE = {
    "sample": (0.1, 0.02),
    "census": (0.5, 0.02),
    "heap": (0.5, 0.08),
    "objsites": (1.0, 0.04),
    "garbage": (0.5, 0.1),  # the work happens in a forked child; the budget covers the fork
}
_MAX_HEAP_SITES = 300  # largest tracebacks per heap record; the rest is summed
_MAX_STICKY_SITES = 3000  # tracebacks once reported keep being reported, up to this many
_MAX_GROWING_TYPES = 8
_EARLY_SECONDS = 10.0
_EARLY_EVERY = {"census": 0.25}
_TICK_FINE = 0.02  # seconds between the agent's ticks while something is timed closely
_TICK_MAX = 0.1  # and at most, otherwise
_BUSY_SHARE_FACTOR = 0.5  # the shares, in a program that keeps a CPU busy (see "auto" below)
# Long runs: the older a process, the sparser its measurements, so that a capture grows
# by a few MB an hour while the shape of the timeline is kept. (age in seconds, factor)
_AGE_STRETCH = ((60.0, 1.0), (600.0, 10.0), (float("inf"), 50.0))
_FULL_CENSUS_EVERY = 20  # census records in between carry only the types that changed


def _stretch(age):
    scale = float(os.environ.get("LEAKTRAIL_AGE_SCALE", "1") or 1)
    for limit, factor in _AGE_STRETCH:
        if age < limit * scale:
            return factor
    return _AGE_STRETCH[-1][1]

# Tracing windows (the default; --trace windows): tracemalloc is on only for short windows,
# the first ones soon after start so that short programs get evidence too, then rarely and
# only while something grows, so that its cost (10-30x on allocation-heavy code while on)
# stays a small share of the run.  Tracing costs per allocation, that is per CPU second of
# the program, not per wall second: a window closes once the program has spent
# WINDOW_CPU_SECONDS of CPU in it (a busy program) or after WINDOW_MAX_SECONDS (an idle one,
# which pays almost nothing for the longer look and shows more of its slow leaks).  The
# census goes on during a window: short programs need its points more than it needs speed.
WINDOW_CPU_SECONDS = 0.1
WINDOW_MAX_SECONDS = 0.5
_FIRST_WINDOWS = (1.0, 3.0)  # seconds after start
WINDOW_GAP = 30.0  # seconds between later windows, at least
# Later windows keep their cost (the program's CPU while traced, plus closing the window)
# within this share of wall time; and open only when the heap or RSS grew since the last.
WINDOW_SHARE = 0.03
# "auto" (the default): tracemalloc traces from the start, as in "full", while that is
# cheap; once tracing costs the program much (tracing multiplies an allocating program's CPU
# time 10-30x), the agent closes that first, long window and goes on in "windows" mode.
# Light programs (mostly waiting) stay exact.  Judged every fifth of a second on what the
# program's threads wanted of a CPU (run or waiting to run):
# - a program that wants most of a CPU (AUTO_BUSY_SHARE) twice in a row is allocation-heavy
#   or compute-bound: it goes to windows after about half a second of tracing, and the
#   agent spends less on it from then on (_run_job).  (Not all of a CPU: a thread waiting
#   for the GIL is not in the run queue, so a busy program looks less busy while the agent
#   works.)  The corpus's programs, which sleep between requests, want 0.4-0.7 of a CPU
#   while traced;
# - one that wants more than half a CPU (AUTO_MAX_CPU_SHARE) over a whole second, from
#   its first second on, goes too.  A second's average is steadier than a quarter's: a
#   program that waits half the time (the corpus's slow_leak_in_churn.py), judged at half
#   a CPU over quarters, was taken for busy one run in two.  (Two such seconds in a row
#   kept more corpus programs traced for longer, slower runs, and ok_cycles_collected.py
#   was then once called a leak.)
# An interval in which modules were imported is start-up, busy in every program, and says
# nothing about what tracing will cost later: it is not judged, nor is a second holding one.
AUTO_BUSY_SHARE = 0.8
AUTO_BUSY_CHECKS = 2
AUTO_MAX_CPU_SHARE = 0.5
AUTO_CHECK_EVERY = 0.2
AUTO_SECOND_CHECKS = 5  # checks in a second
AUTO_JUDGED_FROM = 1.0  # seconds of age before the half-a-CPU rule: the first second warms up
_GROWTH_BLOCKS = 256  # allocator blocks, beyond the agent's own
_GROWTH_RSS = 1 << 20
_GROWTH_RECHECK = 10.0  # seconds until a skipped window asks again
# Heap graphs (why is it alive): a forked copy walks the heap; the target pays the fork.
# The first at GRAPH_FIRST seconds, later ones at doubling ages while the heap grows by
# GRAPH_GROWTH, and one at exit.  A leak held by something that dies before the end (a
# thread's locals) is seen in the earlier graphs.  Large heaps give large graphs: after
# GRAPH_BYTES of them, only the one at exit is taken.
GRAPH_FIRST = 3.0
GRAPH_GROWTH = 0.05
GRAPH_BYTES = 24 << 20
# A copy's walk takes about 10 us per allocated block of a CPU the program might have used:
# on a machine whose cores share their resources, a busy program runs slower meanwhile
# (10-25% here, with a CPU burner on the other core).  In a program "auto" found busy,
# the walks keep within GRAPH_BUSY_SHARE of its age, estimated (the one at exit, when the
# program is done, is always taken); a program that waits does not notice them.
GRAPH_SECONDS_PER_BLOCK = 10e-6
GRAPH_BUSY_SHARE = 0.05
# The graph at exit is skipped when one was begun this recently and the heap has hardly
# grown since: it would show the same, and the CLI would wait for a second walk.
GRAPH_EXIT_RECENT = 10.0


def library_paths():
    """Directory prefixes that hold code which is not the user's: stdlib, site-packages, us."""
    paths = {os.path.dirname(_HERE)}
    for name in ("stdlib", "platstdlib", "purelib", "platlib"):
        try:
            path = sysconfig.get_paths().get(name)
        except Exception:
            path = None
        if path:
            paths.add(path)
    for path in sys.path:
        if path and ("site-packages" in path or "dist-packages" in path):
            paths.add(path)
    paths.add(os.path.dirname(os.__file__))
    return sorted(os.path.realpath(p) for p in paths)


class Agent:
    def __init__(self, socket_path, frames=16, interval=0.1, trace="auto", graphs="auto", graph_values=False):
        self.socket_path = socket_path
        self.graphs = graphs if graphs in ("auto", "exit", "off") else "auto"
        self.graph_values = graph_values
        self._graph_age = GRAPH_FIRST  # age at which the next heap graph is due
        self._graph_blocks = None  # allocated blocks at the last heap graph
        self._graph_taken = None  # (monotonic, allocated blocks) when the last graph began
        self._graph_bytes = 0  # an estimate of what the graphs so far weigh
        self._graph_walks = 0.0  # an estimate of the seconds their copies walked
        self.frames = frames
        self.trace = trace if trace in ("windows", "full", "auto") and frames > 0 else "off"
        self._auto = self.trace == "auto"  # still tracing the whole run, watching its cost
        self._auto_check = None  # (monotonic, process CPU, agent CPU, CPU demand, modules, demand per thread) at the last check
        self._auto_checks = []  # the CPU shares of the last few intervals: see _auto_verdict
        self._auto_second = []  # and of the second being judged
        self._judged_busy = False  # "auto" found the program keeps a CPU busy: see _run_job
        self._native_tid = None  # the agent thread's, left out of the program's CPU demand
        self._born = time.monotonic()
        self._window_open = None  # monotonic time the current window opened
        self._survey = None  # a closed window's survey, still running in a copy (windowcopy.Survey)
        self._survey_window = None  # [opened, closed] (epoch) of the window it surveys
        self._window_started_at = 0.0  # epoch time, for the records
        self._window_cpu = 0.0  # process CPU time when the window opened
        self._grown_from = None  # (blocks, rss) when the last window closed
        self._windows_done = 0
        self._next_window = self._born + _FIRST_WINDOWS[0]
        self.pid = os.getpid()
        self._stop = threading.Event()
        self._thread = None
        self._transport = None
        self._pauses = sampler.GcPauses()
        self._tracebacks = TracebackTable(self.pid)
        self._sticky = set()
        self._type_origins = {}  # id(type) -> "user" | "library" | "builtin"
        self._library_paths = None
        self._census_min = {}
        self._census_last = {}
        self._census_runs = 0
        self._garbage_types = {}
        self._due = {name: 0.0 for name in _SCHEDULE}
        self._cpu_base = 0.0
        self._errors = 0
        self._work_lock = threading.Lock()
        self._started_tracing = False
        self._own_heap = 0  # the agent's own traced bytes, as the last heap snapshot found them
        self._own_blocks = 0  # allocator blocks the agent's windows kept
        self._heap_last = {}
        self._heap_runs = 0
        if interval > 0:
            _SCHEDULE["sample"] = (interval, _SCHEDULE["sample"][1])

    # -- life cycle ------------------------------------------------------------------

    def start(self):
        self._transport = Transport(self.socket_path)
        forking.remember_untraced_allocators()  # for the walks' copies: see forking.untrace_copy
        if tracemalloc.is_tracing():
            self.trace = "full"  # the program traces itself: use it, never stop it
            self._auto = False
        elif self.trace in ("full", "auto"):
            tracemalloc.start(self.frames)
            self._started_tracing = True
            self._window_started_at = time.time()
            self.trace = "full"  # until "auto" finds it too costly
        self._send(self._hello())
        self._pauses.install()
        self._start_thread(delay=0.0)
        atexit.register(self._at_exit)
        _register_fork_hook()

    def _start_thread(self, delay):
        self._thread = threading.Thread(target=self._run, args=(delay,), name="leaktrail-agent", daemon=True)
        self._thread.start()

    def stop(self, final=True, timeout=5.0):
        """Ends the agent and leaves the process as it found it (used by detach).

        The thread ends, the gc callback goes, tracemalloc stops if the agent started
        it, the connection closes.  The module's at-fork hook finds no agent afterwards.
        """
        self._quit()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=timeout)
        try:
            if final and self._transport is not None and not self._transport.closed:
                if self._survey is not None:
                    self._finish_survey(wait=timeout)
                if self._window_open is not None:
                    self._close_window(in_copy=False)
                jobs = ("sample", "census") if self.trace == "windows" else ("sample", "census", "heap", "objsites")
                for job in jobs:
                    self._run_job(job, final=True)
                self._send({"k": "bye", "pid": self.pid, "t": time.time()})
        finally:
            self._pauses.remove()
            if self._started_tracing and tracemalloc.is_tracing():
                tracemalloc.stop()
            self._started_tracing = False
            if self._survey is not None:
                self._survey.close()  # its copy ends on its own: a write to a closed pipe fails
                self._survey = None
            if self._transport is not None:
                self._transport.close()

    def _after_fork_in_child(self):
        """A forked child (multiprocessing, a pre-fork server) is a process of its own."""
        if getattr(self, "_detached", False):
            return
        try:
            if self._transport is not None:
                self._transport.abandon()
            self._transport = None
            self.pid = os.getpid()
            self._tracebacks = TracebackTable(self.pid)
            self._sticky = set()
            self._census_min, self._census_last, self._census_runs = {}, {}, 0
            self._heap_last, self._heap_runs = {}, 0
            self._stop = threading.Event()
            self._work_lock = threading.Lock()
            self._due = {name: 0.0 for name in _SCHEDULE}
            if self._auto:
                # A forked worker (pre-fork servers, pools) is the busy part of a service,
                # and the traces it inherited are its parent's: snapshots of them would
                # stall it. It goes straight to windows mode.
                self._auto = False
                self.trace = "windows"
            # Its own windows, on its own clock: a worker forked late would otherwise wait
            # for the parent's next window, and a fork inside a window (or under "auto")
            # inherits tracing that is the parent's.
            if self.trace == "windows":
                if self._started_tracing and tracemalloc.is_tracing():
                    tracemalloc.stop()
                self._started_tracing = False
            self._window_open = None
            if self._survey is not None:
                self._survey.close()  # the parent's
            self._survey = None
            self._auto_check, self._judged_busy = None, False
            self._graph_age, self._graph_blocks, self._graph_bytes, self._graph_taken = GRAPH_FIRST, None, 0, None
            self._graph_walks = 0.0
            self._born = time.monotonic()
            self._windows_done = 0
            self._next_window = self._born + _FIRST_WINDOWS[0]
            self._grown_from = None
            # Connect from the new thread, a moment later: a child that is about to exec
            # (subprocess with preexec_fn) never says hello for the process it replaces.
            self._start_thread(delay=0.2)
        except Exception:
            pass

    def _run(self, delay):
        self._native_tid = getattr(threading, "get_native_id", lambda: None)()
        try:
            if delay:
                time.sleep(delay)
                self._transport = Transport(self.socket_path)
                self._send(self._hello())
            while not self._stop.is_set():
                if self._transport is None or self._transport.closed:
                    # The CLI is gone: nobody reads us any more. Stop measuring, and stop
                    # tracemalloc if we started it, rather than slow the program for nothing.
                    self._wind_down()
                    return
                self._tick(time.monotonic())
                self._stop.wait(self._tick_delay(time.monotonic()))
        except Exception as exc:
            self._error("loop", exc)

    def _quit(self):
        """Marks the agent done: the loop ends, the at-fork hook and atexit skip it."""
        self._detached = True
        self._stop.set()
        try:
            atexit.unregister(self._at_exit)
        except Exception:
            pass

    def _wind_down(self):
        self._quit()
        if self._survey is not None:
            self._survey.close()
        self._pauses.remove()
        if self._started_tracing and tracemalloc.is_tracing():
            tracemalloc.stop()
        self._started_tracing = False
        global _agent
        if _agent is self:
            _agent = None

    def _hello(self):
        return {
            "k": "hello",
            "pid": self.pid,
            "ppid": os.getppid(),
            "t": time.time(),
            "python": ".".join(str(v) for v in sys.version_info[:3]),
            "argv": list(getattr(sys, "argv", [])),
            "cwd": os.getcwd(),
            "executable": sys.executable,
            "trace_frames": self.frames if self.trace != "off" else 0,
            "trace_mode": "auto" if self._auto else self.trace,
            "library_paths": library_paths(),
        }

    def _at_exit(self):
        """Last measurements from the main thread, then goodbye.  Bounded in time."""
        try:
            if os.getpid() != self.pid or self._transport is None or self._transport.closed:
                return
            self._stop.set()
            if self._thread is not None and self._thread is not threading.current_thread():
                self._thread.join(timeout=2.0)
            if self._survey is not None:
                self._finish_survey(wait=5.0)
            if self._window_open is not None:
                self._close_window(in_copy=False)
            jobs = ("sample", "census", "garbage") if self.trace == "windows" else ("sample", "census", "heap", "objsites", "garbage")
            for job in jobs:
                self._run_job(job, final=True)
            if not self._recent_graph_shows_the_end():
                self._heap_graph("exit")
            self._send({"k": "bye", "pid": self.pid, "t": time.time()})
            self._pauses.remove()
            self._transport.close()
        except Exception:
            pass

    # -- scheduling ------------------------------------------------------------------

    def _tick(self, now):
        if self._survey is not None:
            self._collect_survey()
        if self._auto:
            self._tick_auto(now)
        if self.trace == "windows":
            self._tick_window(now)
        elif self._graph_due(now):
            self._heap_graph("growth")
        for job in _SCHEDULE:
            if self.trace == "windows" and job in ("heap", "objsites"):
                continue  # these run when a window closes
            if now >= self._due[job]:
                self._run_job(job)
            if self._stop.is_set():
                return

    def _tick_delay(self, now):
        """Seconds until the next tick.  Each tick takes the GIL from a busy program: in one
        "auto" found busy, ticks come when the next job is due, at most _TICK_MAX apart
        (about 10 a second, at the samples' pace, where 20 ms ticks made 50), but for
        20 ms while something is timed closely (a window open, a survey to collect)."""
        if not self._judged_busy or self._window_open is not None or self._survey is not None:
            return _TICK_FINE  # (a program that waits hardly notices the ticks)
        # judged busy: in windows mode for good, where heap and objsites run at window closes
        due = min(when for job, when in self._due.items() if job not in ("heap", "objsites"))
        return min(max(min(due, self._next_window) - now, _TICK_FINE), _TICK_MAX)

    def _tick_window(self, now):
        if self._window_open is None:
            if now >= self._next_window and not tracemalloc.is_tracing():
                if not self._growth_suspected():
                    self._next_window = now + _GROWTH_RECHECK
                    return
                self._window_cpu = time.process_time()
                tracemalloc.start(self.frames)
                self._started_tracing = True
                self._window_open = now
                self._window_started_at = time.time()
        elif (now >= self._window_open + WINDOW_MAX_SECONDS
              or time.process_time() - self._window_cpu >= WINDOW_CPU_SECONDS):
            self._close_window()

    def _tick_auto(self, now):
        """Leaves whole-run tracing for windows once tracing costs the program much."""
        if self._auto_check is not None and now - self._auto_check[0] < AUTO_CHECK_EVERY:
            return
        threads, cpu = sampler.cpu_demand(self._native_tid, per_thread=True), time.process_time()
        demand = sum(threads.values()) if threads is not None else None
        point = (now, cpu, self._cpu_base, demand, len(sys.modules), threads)
        if self._auto_check is None:
            self._auto_check, self._auto_checks, self._auto_second = point, [], []
            return
        then, cpu_then, agent_then, demand_then, modules_then, threads_then = self._auto_check
        self._auto_check = point
        if demand is not None and demand_then is not None:
            # what the program's threads wanted, run or not: judged the same on a crowded machine
            share = (demand - demand_then) / (now - then)
            # "a CPU kept busy" is one thread wanting it all (the GIL lets Python use one):
            # several threads that each wait often (a pool) add up to a CPU without being busy
            one = max([(threads[t] - threads_then.get(t, 0.0)) / (now - then) for t in threads] or [0.0])
        else:
            share = one = ((cpu - cpu_then) - (self._cpu_base - agent_then)) / (now - then)
        if len(sys.modules) != modules_then:
            share = one = None  # start-up
        checks, second = self._auto_checks, self._auto_second
        checks.append(one)
        del checks[:-AUTO_BUSY_CHECKS]
        if then - self._born >= AUTO_JUDGED_FROM - AUTO_CHECK_EVERY / 2:
            second.append(share)
        verdict = self._auto_verdict(checks, second)
        if len(second) >= AUTO_SECOND_CHECKS:
            self._auto_second = []  # seconds are judged one after the other, never overlapping
        if not self._started_tracing or verdict is None:
            return
        share = checks[-1] or 0.0
        self._auto = False
        self._judged_busy = verdict == "busy"
        self.trace = "windows"
        self._send({"k": "trace-switch", "pid": self.pid, "t": time.time(), "to": "windows",
                    "cpu_share": round(share, 3)})
        # everything traced so far is the first window: what it left alive, then stop
        self._window_open = self._born
        self._window_cpu = time.process_time()
        self._close_window()

    @staticmethod
    def _auto_verdict(last, second):
        """None (stay traced), "busy" (a CPU kept busy) or "half" (half a CPU over a second).

        last: the busiest thread's CPU share over the last checks, AUTO_CHECK_EVERY apart,
        oldest first (None for start-up); second: the program's (all its threads') over the
        checks of the second being judged, from AUTO_JUDGED_FROM on.  Seconds are judged one
        after the other: judged over a sliding second, five times as often, a program
        waiting half the time would more often happen to look busy.
        """
        last = last[-AUTO_BUSY_CHECKS:]
        if len(last) == AUTO_BUSY_CHECKS and all(s is not None and s >= AUTO_BUSY_SHARE for s in last):
            return "busy"
        if len(second) == AUTO_SECOND_CHECKS and None not in second and sum(second) / len(second) > AUTO_MAX_CPU_SHARE:
            return "half"
        return None

    def _growth_suspected(self):
        """Early windows always open; later ones only when the heap or RSS grew since the last."""
        if self._windows_done < len(_FIRST_WINDOWS) or self._grown_from is None:
            return True
        blocks, rss = self._heap_now()
        return blocks - self._grown_from[0] >= _GROWTH_BLOCKS or rss - self._grown_from[1] >= _GROWTH_RSS

    def _heap_now(self):
        return sys.getallocatedblocks() - self._own_blocks, sampler.rss_bytes()

    def _close_window(self, in_copy=True):
        """What the window's allocations left alive, by site and by type; then tracing stops.

        In a program "auto" found busy, surveyed in a forked copy where it can be
        (windowcopy.py): the program pauses for the fork and is untraced at once; the
        records go out when the copy has answered (_collect_survey).  Here, under tracing,
        in other programs (a program that waits hardly notices), at exit, and when the
        collector is off (the garbage probe reads this process's traces).
        """
        if self._graph_due(time.monotonic()):
            self._heap_graph("growth")  # now, while tracing tells where objects were made
        blocks_before = sys.getallocatedblocks()
        traced_cpu = time.process_time() - self._window_cpu
        cpu_started = time.thread_time()
        window = [self._window_started_at, time.time()]
        try:
            collector_off = not gc.isenabled() or gc.get_threshold()[0] == 0
            in_copy = in_copy and self._judged_busy and not collector_off and self._survey is None
            if not (in_copy and self._copy_survey(window)):
                if self._work_lock.acquire(timeout=5.0):
                    try:
                        self._job_heap(False)
                        self._send_window_objects(windowcopy.window_survivors(), window)
                        if collector_off:
                            self._job_garbage(False)
                    finally:
                        self._work_lock.release()
        except Exception as exc:
            self._error("window", exc)
        finally:
            if self._started_tracing and tracemalloc.is_tracing():
                tracemalloc.stop()
            self._started_tracing = False
            # What closing the window kept (interned tracebacks, caches, and the free lists
            # its walks filled: freed objects parked there stay allocated blocks) is the
            # agent's, not the program's: samples report it so the heap series can leave it
            # out. The program's other threads may allocate or free meanwhile; the analysis
            # levels what steps remain at windows (series.ts, levelWindows).
            self._own_blocks += sys.getallocatedblocks() - blocks_before
            closing = time.thread_time() - cpu_started
            self._cpu_base += closing
            self._grown_from = self._heap_now()
            self._window_open = None
            self._windows_done += 1
            later = _FIRST_WINDOWS[self._windows_done] if self._windows_done < len(_FIRST_WINDOWS) else None
            now = time.monotonic()
            if later is not None:
                self._next_window = self._born + later
            else:
                # the window's cost: the program's CPU while traced, plus the closing work
                self._next_window = now + max(WINDOW_GAP, (traced_cpu + closing) / WINDOW_SHARE)
            self._next_window = max(self._next_window, now + 0.5)

    def _copy_survey(self, window):
        """Starts the window's survey in a copy; False if it could not be started."""
        try:
            started = windowcopy.start(self._tracebacks.known, self._sticky, _MAX_HEAP_SITES)
        except Exception as exc:
            self._error("window copy", exc)
            return False
        if started is None:
            return False
        self._survey, self._survey_window = started[0], window
        return True

    def _collect_survey(self, wait=0.0):
        """Sends what the window's copy found, once it has answered."""
        survey = self._survey
        result = survey.wait(wait) if wait else survey.poll()
        if result is None and not survey.done:
            return
        self._survey = None
        if result is None:
            self._error("window copy", RuntimeError("the copy ended without an answer"))
            return
        blocks_before = sys.getallocatedblocks()
        cpu_started = time.thread_time()
        if self._work_lock.acquire(timeout=5.0):
            try:
                heap, survivors = windowcopy.decode(result)
                self._send_heap(heap, self._survey_window, copy=True)
                self._send_window_objects(survivors, self._survey_window, copy=True)
            except Exception as exc:
                self._error("window", exc)
            finally:
                self._work_lock.release()
        self._own_blocks += sys.getallocatedblocks() - blocks_before  # interned tracebacks
        self._cpu_base += time.thread_time() - cpu_started

    def _finish_survey(self, wait):
        """At the end, where the program waits (``wait`` seconds at most) for a window's copy
        still surveying: the copy runs as the program's equal from now on, if it may."""
        hurried = self._survey.hurry()
        self._collect_survey(wait=wait)
        if self._survey is not None:
            self._error("window copy", RuntimeError(
                "no answer %gs into the end, its window is lost (%s)"
                % (wait, "a copy left to idle CPU, on a machine with none" if not hurried else "a slow copy")))

    def _graph_due(self, now):
        if self.graphs != "auto" or self._graph_bytes >= GRAPH_BYTES:
            return False
        age = now - self._born
        if age < self._graph_age:
            return False
        self._graph_age = age * 2
        blocks = sys.getallocatedblocks() - self._own_blocks
        if self._graph_blocks is not None and blocks < self._graph_blocks * (1 + GRAPH_GROWTH):
            return False
        walk = blocks * GRAPH_SECONDS_PER_BLOCK
        if self._judged_busy and self._graph_walks + walk > GRAPH_BUSY_SHARE * age:
            return False
        self._graph_blocks = blocks
        return True

    def _recent_graph_shows_the_end(self):
        if self._graph_taken is None:
            return False
        began, blocks = self._graph_taken
        grown = sys.getallocatedblocks() - self._own_blocks - blocks
        return time.monotonic() - began < GRAPH_EXIT_RECENT and grown < blocks * GRAPH_GROWTH

    def _heap_graph(self, reason):
        """A heap graph from a forked copy; this process pauses for the fork only."""
        if self.graphs == "off" or self._transport is None or self._transport.closed:
            return
        try:
            paused = heapgraph.dump(self.socket_path, self.pid, reason, self._library_paths_now(),
                                    values=self.graph_values)
            if paused is not None:
                self._cpu_base += paused
                self._graph_taken = (time.monotonic(), sys.getallocatedblocks() - self._own_blocks)
                self._graph_walks += self._graph_taken[1] * GRAPH_SECONDS_PER_BLOCK
                # about 12 bytes an object and 8 an edge, compressed about 3 to 1
                self._graph_bytes += sys.getallocatedblocks() * 8
        except Exception as exc:
            self._error("heap-graph", exc)

    def _library_paths_now(self):
        if self._library_paths is None:
            self._library_paths = tuple(library_paths())
        return self._library_paths

    def _send_window_objects(self, survivors, window, copy=False):
        """objsites records from windowcopy.window_survivors()'s result (made here or in a copy)."""
        if not survivors:
            return
        types = heapwalk.all_types()
        out = []
        records = []
        for type_id, key, has_gc, instances, top in survivors:
            tp = types.get(type_id)
            records.append({"k": "objsites", "pid": self.pid, "t": time.time(), "type": key,
                            "instances": instances, "untraced": 0, "gc": has_gc,
                            "origin": self._origin_of(tp) if tp is not None else "builtin",
                            "window": window, "sites": [[self._tb_id(ref, out), n] for ref, n in top]})
            if copy:
                records[-1]["copy"] = True
        for record in out + records:
            self._send(record)

    def _origin_of(self, tp):
        """Where a type is defined: the program's own code, a library's Python, or C."""
        origin = self._type_origins.get(id(tp))
        if origin is None:
            origin = self._type_origins[id(tp)] = heapwalk.type_origin(tp, self._library_paths_now())
        return origin

    def _run_job(self, job, final=False):
        if self._transport is None or self._transport.closed:
            return
        cpu_started = time.thread_time()
        blocks_before = sys.getallocatedblocks()
        if not self._work_lock.acquire(timeout=5.0):
            return
        try:
            getattr(self, "_job_" + job)(final)
        except Exception as exc:
            self._error(job, exc)
        finally:
            self._work_lock.release()
        if job == "sample":
            # The sampler's first hundred calls warm caches that stay (~80 blocks): the
            # agent's, not the program's. Sampling takes microseconds, so the program
            # hardly allocates meanwhile. Longer jobs are not counted: the program runs
            # while they wait for the GIL, and its growth would be taken for ours.
            self._own_blocks += sys.getallocatedblocks() - blocks_before
        # CPU time, not wall time: waiting for the GIL costs the target nothing.
        spent = time.thread_time() - cpu_started
        self._cpu_base += spent
        every, share = _SCHEDULE[job]
        age = time.monotonic() - self._born
        if self._judged_busy:
            # A program "auto" found busy pays for every second the agent holds the GIL (it
            # would have run meanwhile), where one that waits hardly notices: half the share.
            share *= _BUSY_SHARE_FACTOR
        elif age < _EARLY_SECONDS:
            # short programs need enough points for a trend: spend more early; and a
            # census point more often where the heap is small enough to allow it
            share *= 2
            every = _EARLY_EVERY.get(job, every)
        self._due[job] = time.monotonic() + max(every * _stretch(age), spent / share)

    # -- jobs ------------------------------------------------------------------------

    def _job_sample(self, final):
        self._send(sampler.sample(self.pid, self._pauses, self._cpu_base, self._own_heap,
                                  whole_heap_traced=self.trace == "full", agent_blocks=self._own_blocks), final)

    def _job_census(self, final):
        started = time.perf_counter()
        counts = heapwalk.census()
        seconds = time.perf_counter() - started
        types = {}
        for tp, n in counts.items():
            try:
                key = heapwalk.type_key(tp)
            except Exception:
                key = "?.?"
            types[key] = types.get(key, 0) + n
        del counts
        self._census_runs += 1
        # Low points count from the third census on (start-up grows everything); the
        # dict is filled from the first, so that the agent's own lasting allocations
        # happen during warm-up and not in the middle of the program's series.
        restart = self._census_runs <= 3
        for key, n in types.items():
            low = self._census_min.get(key)
            self._census_min[key] = n if restart or low is None or n < low else low
        previous = self._census_last
        self._census_last = types
        record = {"k": "census", "pid": self.pid, "t": time.time(), "seconds": round(seconds, 6),
                  "objects": sum(types.values()), "types": types}
        if self._census_runs % _FULL_CENSUS_EVERY != 1 and not final:
            # only what changed; a type gone to zero is sent as 0
            record["types"] = {k: n for k, n in types.items() if previous.get(k) != n}
            for k in previous:
                if k not in types:
                    record["types"][k] = 0
            record["delta"] = True
        self._send(record, final)

    def _growing_types(self):
        """Types whose count rose most since their low point: the ones worth joining to sites."""
        growth = []
        for key, n in self._census_last.items():
            low = self._census_min.get(key)
            if low is not None and n - low >= 20:
                growth.append((n - low, key))
        growth.sort(reverse=True)
        keys = [key for _, key in growth[:_MAX_GROWING_TYPES]]
        for key in sorted(self._garbage_types, key=lambda k: -self._garbage_types[k])[:3]:
            if key not in keys:
                keys.append(key)
        return keys

    def _job_heap(self, final):
        if _get_traces is None or not tracemalloc.is_tracing():
            return
        window = [self._window_started_at, time.time()] if self._window_open is not None else None
        self._send_heap(windowcopy.heap_sites(self._tracebacks.known, self._sticky, _MAX_HEAP_SITES), window, final)

    def _send_heap(self, heap, window, final=False, copy=False):
        """A heap record from windowcopy.heap_sites()'s result (made here or in a copy)."""
        out = []
        sites = []
        for ref, size, count in heap["sites"]:
            tb_id = self._tb_id(ref, out)
            if len(self._sticky) < _MAX_STICKY_SITES:
                self._sticky.add(tb_id)
            sites.append([tb_id, size, count])
        self._own_heap = heap["own"]
        for record in out:
            self._send(record)
        record = {"k": "heap", "pid": self.pid, "t": time.time(), "window": window,
                  "seconds": heap["seconds"], "size": heap["size"], "count": heap["count"],
                  "sites": sites, "rest": heap["rest"]}
        if copy:
            record["copy"] = True  # surveyed in a copy: the program only paused for the fork
        current = {tb: (size, count) for tb, size, count in sites}
        previous, self._heap_last = self._heap_last, current
        self._heap_runs += 1
        if window is None and not final and self._heap_runs % _FULL_CENSUS_EVERY != 1:
            # only the sites that changed; a site that left the list is sent as [tb, 0, 0]
            record["sites"] = [[tb, size, count] for tb, (size, count) in current.items()
                               if previous.get(tb) != (size, count)]
            record["sites"] += [[tb, 0, 0] for tb in previous if tb not in current]
            record["delta"] = True
        self._send(record, final)

    def _tb_id(self, ref, out):
        """A traceback's id: ``ref`` is one already, or frames to intern (a "tb" record to ``out``)."""
        return ref if isinstance(ref, int) else self._tracebacks.intern(ref, out)

    def _job_objsites(self, final):
        if not tracemalloc.is_tracing():
            return
        wanted = set(self._growing_types())
        if not wanted:
            return
        by_key = {}
        for tp in heapwalk.all_types().values():
            try:
                key = heapwalk.type_key(tp)
            except Exception:
                continue
            if key in wanted:
                by_key.setdefault(key, []).append(tp)
        types = [tp for tps in by_key.values() for tp in tps]
        key_of = {id(tp): key for key, tps in by_key.items() for tp in tps}
        per_key = {}
        for (type_id, raw), n in heapwalk.object_sites(types).items():
            counts = per_key.setdefault(key_of.get(type_id, "?.?"), {})
            counts[raw] = counts.get(raw, 0) + n
        has_gc = {key: any(tp.__flags__ & (1 << 14) for tp in tps) for key, tps in by_key.items()}
        origin = {key: self._origin_of(tps[0]) for key, tps in by_key.items()}
        for key, counts in per_key.items():
            out = []
            untraced = counts.pop(None, 0)
            top = sorted(counts.items(), key=lambda kv: -kv[1])[:20]
            sites = [[self._tracebacks.intern(raw, out), n] for raw, n in top]
            self._tracebacks.end_batch()
            for record in out:
                self._send(record)
            self._send({"k": "objsites", "pid": self.pid, "t": time.time(), "type": key,
                        "instances": untraced + sum(counts.values()), "sites": sites,
                        "untraced": untraced, "gc": has_gc.get(key, False), "origin": origin.get(key, "builtin")})

    def _job_garbage(self, final):
        threshold = gc.get_threshold()[0]
        if gc.isenabled() and threshold != 0:
            return  # the collector frees cycles itself; gc_garbage counts what it cannot
        from . import garbage

        started = time.perf_counter()
        result = garbage.probe(timeout=10.0 if final else 30.0)
        if result is None:
            return
        self._garbage_types = result["types"]
        out = []
        sites = {}
        if tracemalloc.is_tracing():
            # Addresses of objects the child found unreachable; in the target they are
            # still there, unreachable, until a collection frees them.
            for key, addresses in result["blocks"].items():
                for address in addresses:
                    raw = garbage.block_traceback(address)
                    if raw is not None:
                        skey = (key, self._tracebacks.intern(raw, out))
                        sites[skey] = sites.get(skey, 0) + 1
            self._tracebacks.end_batch()
        for record in out:
            self._send(record)
        top = sorted(sites.items(), key=lambda kv: -kv[1])[:100]
        self._send({"k": "garbage", "pid": self.pid, "t": time.time(),
                    "seconds": round(time.perf_counter() - started, 6),
                    "objects": result["objects"], "unreachable": result["unreachable"],
                    "types": result["types"], "sites": [[k[0], k[1], n] for k, n in top]}, final)

    # -- plumbing --------------------------------------------------------------------

    def _send(self, record, final=False):
        if final:
            record["final"] = True
        transport = self._transport
        if transport is not None:
            transport.send(record)

    def _error(self, where, exc):
        self._errors += 1
        if self._errors <= 20:
            try:
                self._send({"k": "agent-error", "pid": self.pid, "t": time.time(), "where": where,
                            "message": "%s: %s" % (type(exc).__name__, exc)})
            except Exception:
                pass


_agent = None
_fork_hook_registered = False


def _after_fork_in_child():
    agent = _agent
    if agent is not None:
        agent._after_fork_in_child()


def _register_fork_hook():
    """One hook for the module, not a bound method per agent: os.register_at_fork cannot
    unregister, and a bound method would keep a detached agent alive for good."""
    global _fork_hook_registered
    if not _fork_hook_registered and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_fork_in_child)
        _fork_hook_registered = True


def start(socket_path, frames=16, interval=0.1, trace="auto", graphs="auto", graph_values=False):
    """Starts an agent by hand (``leaktrail attach`` injects a call to this); never raises.

    Returns True when an agent runs afterwards.
    """
    global _agent
    if _agent is not None and not getattr(_agent, "_detached", False):
        return True
    try:
        agent = Agent(socket_path, frames=frames, interval=interval, trace=trace, graphs=graphs,
                      graph_values=graph_values)
        agent.start()
        _agent = agent
        return True
    except Exception:
        _agent = None
        return False


def detach(timeout=5.0):
    """Stops the running agent, if any, and undoes what it changed; never raises."""
    global _agent
    agent, _agent = _agent, None
    if agent is None:
        return False
    try:
        agent.stop(timeout=timeout)
    except Exception:
        pass
    return True


def start_from_environment():
    """Starts the agent when the CLI asked for it; never raises."""
    global _agent
    path = os.environ.get("LEAKTRAIL_SOCKET")
    if not path or _agent is not None:
        return None
    try:
        frames = int(os.environ.get("LEAKTRAIL_FRAMES", "16"))
        interval = float(os.environ.get("LEAKTRAIL_INTERVAL", "0.1"))
        trace = os.environ.get("LEAKTRAIL_TRACE", "auto")
        graphs = os.environ.get("LEAKTRAIL_HEAP_GRAPH", "auto")
        values = os.environ.get("LEAKTRAIL_HEAP_VALUES", "") == "1"
        agent = Agent(path, frames=frames, interval=interval, trace=trace, graphs=graphs, graph_values=values)
        agent.start()
        _agent = agent
    except Exception:
        _agent = None
    return _agent
