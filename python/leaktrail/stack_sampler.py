"""The stack sampler behind ``leaktrail profile``: a daemon thread that looks at every other
thread's Python stack ~100 times a second and counts what it sees.

Each tick charges the stack a thread is in with one sample (wall clock) and with the CPU
time that thread used since the previous tick (its own per-thread CPU clock, so a thread
that sleeps or waits for the GIL earns nothing). With ``memory`` on, tracemalloc runs too:
the rise of the traced heap's high-water mark within each tick is charged to the threads
that ran in it (by their CPU), and the blocks alive when the results are written are
grouped by their allocation traceback.

Cheap by construction: a stack is a tuple of ints (code-table index, line number, ...), so
a tick allocates a few small tuples per thread and a dict lookup per frame; frames from
``sys._current_frames()`` are read and dropped within the tick, and no other object of the
program is referred to (DESIGN.md, Hazards). Results go to ``<dir>/<pid>.json`` every few
seconds and at exit, so a killed target loses only its last seconds. The file format is
``leaktrail.stacks/1``, documented in docs/profile.md and typed in src/profile/raw.ts.

Standard library only; every exception is caught and counted, never raised into the program.
"""
import atexit
import json
import os
import sys
import threading
import time

try:
    import tracemalloc
    from _tracemalloc import _get_traces
except ImportError:  # pragma: no cover - a Python built without tracemalloc
    tracemalloc = None
    _get_traces = None

SCHEMA = "leaktrail.stacks/1"
_HERE = os.path.dirname(os.path.abspath(__file__))
_PYTHON_DIR = os.path.dirname(_HERE) + os.sep
# Linux's per-thread CPU clock of a kernel thread id (include/linux/posix-timers.h:
# MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED)). Built from Thread.native_id rather than with
# time.pthread_getcpuclockid(ident), whose pthread_t may point at a thread that just ended;
# the kernel refuses a stale or foreign tid with EINVAL, which we catch.
_CPUCLOCK_SCHED_PERTHREAD = 6


def _thread_clock(native_id):
    return (~native_id << 3) | _CPUCLOCK_SCHED_PERTHREAD


_HAVE_THREAD_CLOCKS = sys.platform.startswith("linux") and hasattr(time, "clock_gettime_ns")


class StackSampler:
    def __init__(self, out_dir, hz=100.0, memory=False, frames=16, flush_every=2.0, retained_every=30.0):
        self.out_dir = out_dir
        self.hz = max(1.0, min(float(hz), 1000.0))
        self.memory = bool(memory) and tracemalloc is not None
        self.frames = max(1, int(frames))
        self.flush_every = flush_every
        self.retained_every = retained_every
        self._lock = threading.Lock()  # the tables, between the sampler thread and atexit
        self._stop = False
        self._thread = None
        self._started_tracing = False
        self._reset()

    # -- state ---------------------------------------------------------------------------

    def _reset(self):
        self.pid = os.getpid()
        self.start_time = time.time()
        self._codes = {}  # id(code) -> (index, co_name, co_filename, is it ours)
        self._code_rows = []  # [filename, name, first line]
        self._threads = {}  # ident -> index into _thread_rows
        self._thread_rows = []  # [ident, native id, name]
        self._counts = {}  # (thread index, stack) -> [samples, cpu ns, alloc bytes]
        self._last_cpu = {}  # native id -> ns at the previous tick
        self._retained = []
        self._retained_total = [0, 0]
        self._retained_at = 0.0
        self._last_traced = None
        self._ticks = 0
        self._errors = []
        self._sampler_cpu_ns = 0
        self._cpu_start_ns = time.process_time_ns()
        try:
            # the main thread's CPU before we start (interpreter start-up) is nobody's sample
            main = threading.main_thread()
            if _HAVE_THREAD_CLOCKS and main.native_id is not None:
                self._last_cpu[main.native_id] = time.clock_gettime_ns(_thread_clock(main.native_id))
        except Exception:
            pass

    def _error(self, where, exc):
        if len(self._errors) < 20:
            self._errors.append("%s: %s: %s" % (where, type(exc).__name__, exc))

    # -- life cycle ----------------------------------------------------------------------

    def start(self):
        os.makedirs(self.out_dir, exist_ok=True)
        if self.memory and not tracemalloc.is_tracing():
            tracemalloc.start(self.frames)
            self._started_tracing = True
        self._start_thread()
        atexit.register(self._at_exit)
        _running.append(self)
        _register_fork_hook()

    def _start_thread(self):
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="leaktrail-profile", daemon=True)
        self._thread.start()

    def _after_fork_in_child(self):
        # The child is a process of its own: its own file, its own samples, a new thread
        # (threads do not survive fork). The lock may have been held by the parent's thread.
        try:
            self._lock = threading.Lock()
            self._reset()
            self._start_thread()
            self._flush_at_multiprocessing_exit()
        except Exception:
            pass

    def _flush_at_multiprocessing_exit(self):
        # multiprocessing's forked workers leave with os._exit (no atexit); their own
        # exit function runs the finalizers registered after the fork, so register one then.
        util = sys.modules.get("multiprocessing.util")
        if util is None:
            return

        def later(sampler):
            util.Finalize(None, sampler._at_exit, exitpriority=-100)

        util.register_after_fork(self, later)

    def stop(self, timeout=1.0):
        self._stop = True
        if self in _running:
            _running.remove(self)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _at_exit(self):
        try:
            self.stop()
            self.flush(final=True)
        except Exception:
            pass

    def detach(self):
        """Stops sampling and leaves the process as it was (``leaktrail profile --pid``)."""
        self.stop(timeout=2.0)
        try:
            atexit.unregister(self._at_exit)
        except Exception:
            pass
        try:
            self.flush(final=True)
        finally:
            if self._started_tracing and tracemalloc.is_tracing():
                tracemalloc.stop()
            self._started_tracing = False

    # -- sampling ------------------------------------------------------------------------

    def _run(self):
        own = threading.get_ident()
        interval = 1.0 / self.hz
        clock = time.perf_counter
        next_tick = clock() + interval
        next_flush = clock() + self.flush_every
        last_flush = clock()
        unflushed = 0  # CPU ns charged since the last write
        cpu0 = time.thread_time_ns()
        try:
            # a first, empty file says "this process exists": the CLI waits for the final
            # write of every process it knows of that is still running when the command ends
            self.flush(final=False)
        except Exception as exc:
            self._error("flush", exc)
        while not self._stop:
            delay = next_tick - clock()
            if delay > 0:
                time.sleep(delay)
            next_tick += interval
            now = clock()
            if next_tick < now:  # fell behind (a long GIL hold): skip, do not burst
                next_tick = now + interval
            busy = 0
            try:
                with self._lock:
                    busy = self._tick(own)
            except Exception as exc:
                self._error("tick", exc)
            unflushed += busy
            # Write every few seconds, and as soon as a busy process goes idle: a pool
            # worker that finished its tasks waits, then is SIGTERMed without a word.
            if now >= next_flush or (unflushed and not busy and now - last_flush >= 0.1):
                next_flush = now + self.flush_every
                last_flush = now
                unflushed = 0
                try:
                    self.flush(final=False)
                except Exception as exc:
                    self._error("flush", exc)
            self._sampler_cpu_ns = time.thread_time_ns() - cpu0

    def _tick(self, own):
        self._ticks += 1
        active = threading._active  # ident -> Thread; read only
        frames = sys._current_frames()
        seen = []  # (key, cpu delta) per thread
        codes = self._codes
        try:
            for ident, frame in frames.items():
                if ident == own:
                    continue
                stack = []
                ours = False
                f = frame
                while f is not None:
                    co = f.f_code
                    entry = codes.get(id(co))
                    if entry is None or entry[1] != co.co_name or entry[2] != co.co_filename:
                        # id() alone could be a freed code object's: the name and file check it
                        entry = (len(self._code_rows), co.co_name, co.co_filename, co.co_filename.startswith(_HERE))
                        codes[id(co)] = entry
                        self._code_rows.append([co.co_filename, co.co_name, co.co_firstlineno])
                    ours = ours or entry[3]
                    stack.append(entry[0])
                    stack.append(f.f_lineno or 0)
                    f = f.f_back
                f = frame = None
                if ours:
                    continue  # leaktrail's own threads and exit handlers are not the program
                thread_index = self._threads.get(ident)
                thread = active.get(ident)
                native = getattr(thread, "native_id", None)
                if thread_index is None:
                    thread_index = self._threads[ident] = len(self._thread_rows)
                    name = getattr(thread, "name", None) or "thread %d" % ident
                    self._thread_rows.append([ident, native, name])
                cpu = 0
                if _HAVE_THREAD_CLOCKS and native is not None:
                    try:
                        now = time.clock_gettime_ns(_thread_clock(native))
                        last = self._last_cpu.get(native)
                        if last is None:
                            # a thread born since the last tick: all its CPU is new; one that
                            # was there before the first tick (attach): none of it is ours
                            last = 0 if self._ticks > 1 else now
                        cpu = now - last
                        self._last_cpu[native] = now
                    except OSError:
                        cpu = 0
                seen.append(((thread_index, tuple(stack)), max(cpu, 0)))
        finally:
            frames = None  # never keep the program's frames past the tick
        alloc = self._alloc_rise() if self.memory else 0
        total_cpu = sum(c for _, c in seen)
        counts = self._counts
        for key, cpu in seen:
            row = counts.get(key)
            if row is None:
                row = counts[key] = [0, 0, 0]
            row[0] += 1
            row[1] += cpu
            if alloc:
                row[2] += alloc * cpu // total_cpu if total_cpu else (alloc if key[0] == 0 else 0)
        return total_cpu if _HAVE_THREAD_CLOCKS else len(seen)

    def _alloc_rise(self):
        """Bytes the traced heap rose above its level at the previous tick, at its highest."""
        if not tracemalloc.is_tracing():
            return 0
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        last = self._last_traced
        self._last_traced = current
        if last is None:
            return 0
        return max(0, peak - last)

    # -- retained memory -----------------------------------------------------------------

    def _take_retained(self):
        """Blocks alive now, grouped by allocation traceback (innermost frame first)."""
        if _get_traces is None or not tracemalloc.is_tracing():
            return
        groups = {}
        size_all = count_all = 0
        ours = {}  # filename -> under leaktrail's python folder (the sampler, sitecustomize)
        for trace in _get_traces():
            size, raw = trace[1], trace[2]
            mine = False
            for frame in raw:
                own = ours.get(frame[0])
                if own is None:
                    own = ours[frame[0]] = frame[0].startswith(_PYTHON_DIR)
                if own:
                    mine = True
                    break
            if mine:
                continue  # our own tables and threads
            size_all += size
            count_all += 1
            row = groups.get(raw)
            if row is None:
                groups[raw] = [size, 1]
            else:
                row[0] += size
                row[1] += 1
        self._retained = [[[list(f) for f in raw], s, n] for raw, (s, n) in groups.items()]
        self._retained_total = [size_all, count_all]

    # -- output --------------------------------------------------------------------------

    def flush(self, final=False):
        with self._lock:
            now = time.monotonic()
            if self.memory and (final or now - self._retained_at >= self.retained_every):
                self._retained_at = now
                try:
                    self._take_retained()
                except Exception as exc:
                    self._error("retained", exc)
            data = {
                "schema": SCHEMA,
                "pid": self.pid,
                "ppid": os.getppid(),
                "python": ".".join(str(v) for v in sys.version_info[:3]),
                "argv": list(sys.argv),
                "executable": sys.executable,
                "cwd": os.getcwd(),
                "start": self.start_time,
                "end": time.time(),
                "final": bool(final),
                "hz": self.hz,
                "ticks": self._ticks,
                "cpu_clock": _HAVE_THREAD_CLOCKS,
                "memory": self.memory,
                "trace_frames": tracemalloc.get_traceback_limit() if self.memory and tracemalloc.is_tracing() else 0,
                "codes": self._code_rows,
                "threads": self._thread_rows,
                "stacks": [[t, list(stack), n, cpu, alloc] for (t, stack), (n, cpu, alloc) in self._counts.items()],
                "retained": self._retained,
                "retained_total": self._retained_total,
                "sampler_cpu_ns": self._sampler_cpu_ns,
                "process_cpu_ns": time.process_time_ns() - self._cpu_start_ns,
                "errors": list(self._errors),
            }
            path = os.path.join(self.out_dir, "%d.json" % self.pid)
        tmp = "%s.%d.tmp" % (path, threading.get_ident())
        with open(tmp, "w") as f:
            json.dump(data, f, separators=(",", ":"))
        os.replace(tmp, path)


_sampler = None
_fork_hook_registered = False


_running = []  # samplers started and not stopped: forked children restart theirs


def _after_fork_in_child():
    for sampler in list(_running):
        sampler._after_fork_in_child()


def _register_fork_hook():
    """One hook for the module: os.register_at_fork cannot unregister, and a bound method
    would keep a detached sampler alive and sampling in every later child."""
    global _fork_hook_registered
    if not _fork_hook_registered and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_fork_in_child)
        _fork_hook_registered = True


def start(out_dir, hz=100.0, memory=False, frames=16):
    """Starts sampling by hand (``leaktrail profile --pid`` injects a call); never raises.
    True when a sampler runs afterwards."""
    global _sampler
    if _sampler is not None:
        return True
    try:
        sampler = StackSampler(out_dir, hz=hz, memory=memory, frames=frames)
        sampler.start()
        _sampler = sampler
        return True
    except Exception:
        _sampler = None
        return False


def detach():
    """Stops the sampler started by :func:`start`, writing its final file; never raises."""
    global _sampler
    sampler, _sampler = _sampler, None
    if sampler is None:
        return False
    try:
        sampler.detach()
    except Exception:
        pass
    return True


def start_from_environment():
    """Starts the sampler when ``leaktrail profile`` asked for it (LEAKTRAIL_PROFILE=dir); never raises."""
    global _sampler
    out_dir = os.environ.get("LEAKTRAIL_PROFILE")
    if not out_dir or _sampler is not None:
        return None
    try:
        sampler = StackSampler(
            out_dir,
            hz=float(os.environ.get("LEAKTRAIL_PROFILE_HZ", "100")),
            memory=os.environ.get("LEAKTRAIL_PROFILE_MEMORY", "") == "1",
            frames=int(os.environ.get("LEAKTRAIL_PROFILE_FRAMES", "16")),
        )
        sampler.start()
        _sampler = sampler
    except Exception:
        _sampler = None
    return _sampler
