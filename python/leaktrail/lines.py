"""Line-by-line memory of chosen functions, from tracemalloc: what memory_profiler's
``@profile`` shows, but exact bytes instead of RSS, and far cheaper.

Two ways in:

* ``leaktrail lines --function MODULE:FUNCTION -- COMMAND`` (LEAKTRAIL_LINES in the
  environment; the table is written as ``leaktrail.lines/1`` JSON and printed by the CLI);
* in code::

      from leaktrail.lines import profile

      @profile
      def work():
          ...

  which prints the same table on stderr when the program exits.

Per line of the function, summed over its executions (docs/profile.md defines them):

* hits: times the line ran;
* allocated: for each run of the line, how far the traced heap rose above its level when
  the line began, at its highest (tracemalloc's peak, reset as each line begins) —
  includes functions the line called and memory freed again before the line ended;
* net: traced heap at the line's end less at its start (memory_profiler's "Increment");
* kept and blocks: bytes and blocks allocated by the line (by allocation traceback, so
  also in what it called, up to the traceback depth) and still alive when the outermost
  call of a profiled function returned.

Only the chosen code objects pay for line events: sys.monitoring (3.12+) with events set
on those code objects alone; on 3.9-3.11 a global sys.settrace whose call hook turns away
every other function at once. tracemalloc runs only while a profiled call is running
(unless something else started it), so the rest of the program runs at full speed.
Standard library only; exceptions are caught, never raised into the program.
"""
import atexit
import dis
import functools
import json
import linecache
import os
import sys
import threading
import time

try:
    import tracemalloc
    from _tracemalloc import _get_traces
except ImportError:  # pragma: no cover
    tracemalloc = None
    _get_traces = None

SCHEMA = "leaktrail.lines/1"
_HERE = os.path.dirname(os.path.abspath(__file__))
_MONITORING = sys.version_info >= (3, 12) and hasattr(sys, "monitoring")

# stats columns
HITS, ALLOCATED, NET, KEPT, BLOCKS = range(5)


def _code_lines(code):
    """Lines that hold bytecode of this code object (not of functions nested in it)."""
    lines = set()
    for _, line in dis.findlinestarts(code):
        if line is not None and line > 0:
            lines.add(line)
    # the first line is the def's (or its first decorator's), where 3.11+ puts RESUME: what
    # a traceback shows there is the enclosing code defining the function, not a call of it
    if len(lines) > 1:
        lines.discard(code.co_firstlineno)
    return lines


class _Target:
    __slots__ = ("code", "spec", "file", "lines", "stats", "calls")

    def __init__(self, code, spec):
        self.code = code
        self.spec = spec
        self.file = code.co_filename
        self.lines = _code_lines(code)
        self.stats = {}  # line -> [hits, allocated, net, kept, blocks]
        self.calls = 0


class LineProfiler:
    def __init__(self, frames=16):
        self.frames = max(1, int(frames))
        self._specs = []  # (text, module or None, path or None, qualname)
        self._targets = {}  # code -> _Target
        self._by_file = {}  # file -> [_Target]
        self._rejected = {}  # id(code) -> co_name: looked at, not ours
        self._active = {}  # thread ident -> [[target, line, start bytes], ...]
        self._depth = 0
        self._lock = threading.Lock()
        self._own_tracing = False
        self._unattributed = [0, 0]
        self._installed = False
        self._mode = "monitoring" if _MONITORING else "settrace"
        self._tool = None
        self._errors = []
        self._noise = None  # (allocated, net) bytes per line hit that are our own accounting
        self._kept_due = threading.Event()
        self._kept_pending = False
        self._kept_thread = None

    # -- what to profile -----------------------------------------------------------------

    def add_spec(self, text):
        """``module:qualname`` or ``path/to/file.py:qualname``."""
        where, _, qualname = text.rpartition(":")
        if not where or not qualname:
            raise ValueError("expected MODULE:FUNCTION, not %r" % text)
        if where.endswith(".py") or os.sep in where:
            self._specs.append((text, None, os.path.realpath(where), qualname))
        else:
            self._specs.append((text, where, None, qualname))

    def add_code(self, code, spec=None):
        target = self._targets.get(code)
        if target is None:
            target = _Target(code, spec or "%s:%s" % (code.co_filename, getattr(code, "co_qualname", code.co_name)))
            self._targets[code] = target
            self._by_file.setdefault(code.co_filename, []).append(target)
            if self._mode == "monitoring" and self._tool is not None:
                self._watch_code(code)
        return target

    def _match(self, code, frame):
        name = getattr(code, "co_qualname", None)
        for text, module, path, qualname in self._specs:
            if name is not None:
                if name != qualname:
                    continue
            elif code.co_name != qualname.rpartition(".")[2]:
                continue
            if path is not None:
                if os.path.realpath(code.co_filename) != path:
                    continue
            elif frame is None or frame.f_globals.get("__name__") != module:
                continue
            return text
        return None

    def _consider(self, code, frame):
        """The target for this code, deciding once; None for everyone else's code."""
        target = self._targets.get(code)
        if target is not None:
            return target
        if not self._specs or self._rejected.get(id(code)) is code.co_name:
            return None
        spec = self._match(code, frame) if not code.co_filename.startswith(_HERE) else None
        if spec is None:
            self._rejected[id(code)] = code.co_name
            return None
        return self.add_code(code, spec)

    # -- hooks ---------------------------------------------------------------------------

    def install(self):
        if self._installed:
            return
        self._installed = True
        if self._mode == "monitoring":
            mon = sys.monitoring
            for tool in (mon.PROFILER_ID, 3, 4, 5):
                try:
                    mon.use_tool_id(tool, "leaktrail-lines")
                    self._tool = tool
                    break
                except ValueError:
                    continue
            if self._tool is None:
                self._mode = "settrace"
            else:
                ev = mon.events
                mon.register_callback(self._tool, ev.PY_START, self._mon_start)
                mon.register_callback(self._tool, ev.PY_RESUME, self._mon_resume)
                mon.register_callback(self._tool, ev.LINE, self._mon_line)
                mon.register_callback(self._tool, ev.PY_RETURN, self._mon_return)
                mon.register_callback(self._tool, ev.PY_YIELD, self._mon_return)
                mon.register_callback(self._tool, ev.PY_UNWIND, self._mon_unwind)
                # PY_START everywhere only while specs wait for their code: each other
                # function is turned away (DISABLE) on its first call and never asked again
                mon.set_events(self._tool, (ev.PY_START if self._specs else 0) | ev.PY_UNWIND)
                for code in list(self._targets):
                    self._watch_code(code)
                return
        if self._specs:
            self._settrace()

    def install_for_code(self):
        """Hooks for code added with add_code (the decorator), installed once."""
        if self._installed:
            return
        if self._mode != "monitoring":
            self._installed = True
            self._settrace()
            return
        self.install()

    def _settrace(self):
        # a debugger or coverage tool tracing already wins: its work matters more than ours
        theirs = sys.gettrace()
        if theirs is not None and theirs != self._trace_call:
            self._error("install", RuntimeError("another trace function is set (a debugger or coverage?): no line events"))
            return
        sys.settrace(self._trace_call)
        threading.settrace(self._trace_call)

    def _watch_code(self, code):
        ev = sys.monitoring.events
        sys.monitoring.set_local_events(self._tool, code, ev.PY_START | ev.PY_RESUME | ev.LINE | ev.PY_RETURN | ev.PY_YIELD)

    def uninstall(self):
        if not self._installed:
            return
        self._installed = False
        try:
            if self._mode == "monitoring" and self._tool is not None:
                mon = sys.monitoring
                mon.set_events(self._tool, 0)
                for code in self._targets:
                    mon.set_local_events(self._tool, code, 0)
                mon.free_tool_id(self._tool)
                self._tool = None
            else:
                if sys.gettrace() == self._trace_call:
                    sys.settrace(None)
                threading.settrace(None)
        except Exception as exc:
            self._error("uninstall", exc)

    # sys.monitoring (3.12+)

    def _mon_start(self, code, offset):
        target = self._consider(code, sys._getframe(1))
        if target is None:
            return sys.monitoring.DISABLE
        self._enter(target, True)

    def _mon_resume(self, code, offset):
        target = self._targets.get(code)
        if target is not None:
            self._enter(target, False)

    def _mon_line(self, code, line):
        target = self._targets.get(code)
        if target is not None:
            self._line(target, line)

    def _mon_return(self, code, offset, value):
        if code in self._targets:
            self._leave()

    def _mon_unwind(self, code, offset, exc):
        if code in self._targets:
            self._leave()

    # sys.settrace (3.9-3.11)

    def _trace_call(self, frame, event, arg):
        if event != "call":
            return None
        code = frame.f_code
        target = self._targets.get(code)
        if target is None:
            if self._rejected.get(id(code)) is code.co_name:
                return None
            target = self._consider(code, frame)
            if target is None:
                return None
        # a generator's resume is a call event too: count only its first entry as a call
        self._enter(target, frame.f_lasti < 0 or not (code.co_flags & 0x2A0))
        return self._trace_local

    def _trace_local(self, frame, event, arg):
        if event == "line":
            target = self._targets.get(frame.f_code)
            if target is not None:
                self._line(target, frame.f_lineno)
        elif event == "return":
            self._leave()
        return self._trace_local

    # -- accounting ----------------------------------------------------------------------

    def _enter(self, target, first):
        try:
            if first:
                target.calls += 1
            if self._kept_pending and self._depth == 0:
                # the previous call's frame is gone now: count what it kept before this
                # call allocates (the helper thread may not have had the GIL yet)
                self._take_kept()
            with self._lock:
                if self._depth == 0 and tracemalloc is not None and not tracemalloc.is_tracing():
                    tracemalloc.start(self.frames)
                    self._own_tracing = True
                self._depth += 1
            if self._noise is None:
                self._calibrate()
            stack = self._active.get(threading.get_ident())
            if stack is None:
                stack = self._active[threading.get_ident()] = []
            stack.append([target, 0, 0, 0])  # target, line, traced bytes at its start, highest seen
        except Exception as exc:
            self._error("enter", exc)

    def _line(self, target, line):
        try:
            stack = self._active.get(threading.get_ident())
            if not stack:
                return
            top = stack[-1]
            current, peak = tracemalloc.get_traced_memory()
            if top[1]:
                self._close(top, current, peak)
            # the peak is reset for this line: the callers' lines, still running, keep
            # the highest level reached so far
            for entry in stack:
                if peak > entry[3]:
                    entry[3] = peak
            tracemalloc.reset_peak()
            top[1] = line
            top[2] = top[3] = current
            row = target.stats.get(line)
            if row is None:
                row = target.stats[line] = [0, 0, 0, 0, 0]
            row[HITS] += 1
        except Exception as exc:
            self._error("line", exc)

    def _close(self, top, current, peak):
        row = top[0].stats.get(top[1])
        if row is not None:
            noise_alloc, noise_net = self._noise or (0, 0)
            row[ALLOCATED] += max(0, max(peak, top[3]) - top[2] - noise_alloc)
            row[NET] += current - top[2] - noise_net

    def _calibrate(self):
        """Measures what our own accounting allocates per line hit (the tuples and ints of
        tracemalloc's answers, kept for a moment), to take it off every line: a line hit a
        million times would otherwise show ~100 MB it never allocated."""
        self._noise = (0, 0)
        if tracemalloc is None or not tracemalloc.is_tracing():
            self._noise = None
            return
        probe = _Target(_calibrate_probe.__code__, "probe")
        ident = threading.get_ident()
        saved = self._active.get(ident)
        self._active[ident] = [[probe, 0, 0, 0]]
        try:
            for _ in range(64):
                self._line(probe, 1)
            self._line(probe, 2)
            row = probe.stats.get(1)
            if row and row[HITS] > 1:
                hits = row[HITS] - 1  # the first hit had no previous line to close
                self._noise = (row[ALLOCATED] // hits, row[NET] // hits)
        finally:
            if saved is None:
                self._active.pop(ident, None)
            else:
                self._active[ident] = saved

    def _leave(self):
        try:
            stack = self._active.get(threading.get_ident())
            if not stack:
                return
            top = stack.pop()
            if top[1]:
                current, peak = tracemalloc.get_traced_memory()
                self._close(top, current, peak)
            with self._lock:
                self._depth -= 1
                outermost = self._depth == 0
            if outermost:
                self._kept_later()
            elif stack:
                # the caller's line goes on: it must not forget the highest level we reached
                current, peak = tracemalloc.get_traced_memory()
                for entry in stack:
                    if max(peak, top[3]) > entry[3]:
                        entry[3] = max(peak, top[3])
        except Exception as exc:
            self._error("leave", exc)

    def _kept_later(self):
        """The outermost profiled call returned, but its frame (and its locals) lives until
        the return is over: a helper thread counts what is kept once it got the GIL back."""
        if not self._own_tracing:
            return  # someone else's tracing: counted once, at exit (finish)
        self._kept_pending = True
        if self._kept_thread is None or not self._kept_thread.is_alive():
            self._kept_thread = threading.Thread(target=self._kept_loop, name="leaktrail-lines", daemon=True)
            self._kept_thread.start()
        self._kept_due.set()

    def _kept_loop(self):
        while True:
            self._kept_due.wait()
            self._kept_due.clear()
            while self._kept_pending:
                time.sleep(0.01)
                if self._depth > 0:
                    break  # a new call began: its own end (or the next one's start) counts
                try:
                    if self._target_on_a_stack():
                        continue  # still returning (its locals are alive): look again soon
                    self._take_kept()
                except Exception as exc:
                    self._error("kept", exc)
                    break

    def _target_on_a_stack(self):
        """A profiled function still has a frame (it is inside its return event, say)."""
        targets = self._targets
        frames = sys._current_frames()
        try:
            for f in frames.values():
                while f is not None:
                    if f.f_code in targets:
                        return True
                    f = f.f_back
            return False
        finally:
            frames = f = None  # never keep the program's frames

    def _take_kept(self):
        """Attributes the blocks alive now to the profiled lines in their tracebacks."""
        with self._lock:
            if self._depth > 0 or not self._own_tracing or _get_traces is None or not tracemalloc.is_tracing():
                return  # a new call began: its end counts for both
            self._kept_pending = False
            traces = _get_traces()
            tracemalloc.stop()  # the next outermost call starts afresh: nothing counted twice
            self._own_tracing = False
        self._attribute(traces)

    def _attribute(self, traces):
        by_file = self._by_file
        ours = {}  # filename -> is it leaktrail's own
        for trace in traces:
            size, raw = trace[1], trace[2]
            if not raw:
                continue
            hit = False
            mine = False
            seen = None
            for filename, lineno in raw:  # innermost first
                own = ours.get(filename)
                if own is None:
                    own = ours[filename] = filename.startswith(_HERE)
                if own:
                    # our own accounting (a helper thread, our tables), unless a profiled
                    # line came first: then this is the decorator's wrapper, further out
                    if not hit:
                        mine = True
                        break
                    continue
                targets = by_file.get(filename)
                if targets is None:
                    continue
                for target in targets:
                    if lineno in target.lines:
                        key = (id(target), lineno)
                        if seen is None:
                            seen = set()
                        if key in seen:
                            continue  # recursion: one line counts a block once
                        seen.add(key)
                        row = target.stats.get(lineno)
                        if row is None:
                            row = target.stats[lineno] = [0, 0, 0, 0, 0]
                        row[KEPT] += size
                        row[BLOCKS] += 1
                        hit = True
            if mine:
                continue
            if not hit:
                self._unattributed[0] += size
                self._unattributed[1] += 1

    def _error(self, where, exc):
        if len(self._errors) < 20:
            self._errors.append("%s: %s: %s" % (where, type(exc).__name__, exc))

    # -- results -------------------------------------------------------------------------

    def finish(self):
        """Stops watching; blocks still traced by someone else's tracemalloc are counted now."""
        self.uninstall()
        try:
            if self._own_tracing and tracemalloc.is_tracing():
                with self._lock:
                    traces = _get_traces()
                    tracemalloc.stop()
                    self._own_tracing = False
                self._attribute(traces)
            elif not self._own_tracing and tracemalloc is not None and tracemalloc.is_tracing() and self._targets:
                self._attribute(_get_traces())
        except Exception as exc:
            self._error("finish", exc)

    def results(self):
        functions = []
        for target in self._targets.values():
            code = target.code
            functions.append(
                {
                    "spec": target.spec,
                    "name": getattr(code, "co_qualname", code.co_name),
                    "file": code.co_filename,
                    "first_line": code.co_firstlineno,
                    "last_line": max(target.lines or {code.co_firstlineno}),
                    "calls": target.calls,
                    "lines": [[line] + row for line, row in sorted(target.stats.items())],
                }
            )
        matched = {t.spec for t in self._targets.values()}
        return {
            "schema": SCHEMA,
            "pid": os.getpid(),
            "python": ".".join(str(v) for v in sys.version_info[:3]),
            "argv": list(sys.argv),
            "mode": self._mode,
            "frames": self.frames,
            "functions": functions,
            "unmatched": [text for text, _, _, _ in self._specs if text not in matched],
            "unattributed": list(self._unattributed),
            "errors": list(self._errors),
        }


def _calibrate_probe():
    pass


# -- the table -----------------------------------------------------------------------------


def _bytes(n):
    sign = "-" if n < 0 else ""
    v = abs(n)
    units = ("B", "kB", "MB", "GB", "TB")
    i = 0
    while v >= 1000 and i < len(units) - 1:
        v /= 1000.0
        i += 1
    return "%s%s %s" % (sign, ("%.0f" % v) if i == 0 else ("%.0f" % v if v >= 100 else "%.1f" % v), units[i])


def format_table(results):
    """The table the CLI prints too (src/profile/lines-table.ts renders the same)."""
    out = []
    for fn in results["functions"]:
        rows = {r[0]: r[1:] for r in fn["lines"]}
        out.append(
            "%s (%s:%d): %d call%s; tracemalloc, %d frames"
            % (fn["name"], fn["file"], fn["first_line"], fn["calls"], "" if fn["calls"] == 1 else "s", results["frames"])
        )
        out.append("%6s %8s %11s %11s %11s %8s  %s" % ("Line", "Hits", "Allocated", "Net", "Kept", "Blocks", "Line Contents"))
        out.append("=" * 76)
        for line in range(fn["first_line"], fn["last_line"] + 1):
            text = linecache.getline(fn["file"], line).rstrip("\n")
            row = rows.get(line)
            if row is None:
                out.append("%6d %8s %11s %11s %11s %8s  %s" % (line, "", "", "", "", "", text))
            else:
                hits, allocated, net, kept, blocks = row
                out.append(
                    "%6d %8d %11s %11s %11s %8d  %s" % (line, hits, _bytes(allocated), _bytes(net), _bytes(kept), blocks, text)
                )
        out.append("")
    for text in results.get("unmatched", []):
        out.append("%s: never called (no such function ran)" % text)
    return "\n".join(out) + "\n"


# -- entry points --------------------------------------------------------------------------

_profiler = None
_printing = False


def _write_results(out_dir):
    data = _profiler.results()
    path = os.path.join(out_dir, "%d.json" % os.getpid())
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)


def start_from_environment():
    """``leaktrail lines``: LEAKTRAIL_LINES="mod:func,..." and LEAKTRAIL_LINES_OUT=dir; never raises."""
    global _profiler
    specs = os.environ.get("LEAKTRAIL_LINES", "")
    out_dir = os.environ.get("LEAKTRAIL_LINES_OUT", "")
    if not specs or not out_dir or _profiler is not None:
        return None
    try:
        profiler = LineProfiler(frames=int(os.environ.get("LEAKTRAIL_LINES_FRAMES", "16")))
        for text in specs.split(","):
            if text.strip():
                profiler.add_spec(text.strip())
        profiler.install()
        _profiler = profiler
        pid = os.getpid()

        def at_exit():
            if os.getpid() != pid and _profiler is not profiler:
                return
            try:
                profiler.finish()
                _write_results(out_dir)
            except Exception:
                pass

        atexit.register(at_exit)
        if hasattr(os, "register_at_fork"):
            # a forked child writes its own file at its exit: it counts from zero
            os.register_at_fork(after_in_child=lambda: _forked(profiler, out_dir))
    except Exception:
        _profiler = None
    return _profiler


def _forked(profiler, out_dir):
    try:
        for target in profiler._targets.values():
            target.stats = {}
            target.calls = 0
        profiler._active = {}
        profiler._lock = threading.Lock()
        profiler._unattributed = [0, 0]
        # threads do not survive fork, and their locks may have been held
        profiler._kept_due = threading.Event()
        profiler._kept_thread = None
    except Exception:
        pass


def _print_at_exit():
    try:
        _profiler.finish()
        sys.stderr.write(format_table(_profiler.results()))
        sys.stderr.flush()
    except Exception:
        pass


def profile(func=None, frames=16):
    """Decorator: ``@profile`` or ``@profile(frames=32)``; prints the line table at exit."""
    global _profiler, _printing

    def decorate(fn):
        global _profiler, _printing
        try:
            if _profiler is None:
                _profiler = LineProfiler(frames=frames)
            code = getattr(fn, "__code__", None)
            if code is None:
                return fn
            _profiler.add_code(code)
            if not _printing:
                _printing = True
                atexit.register(_print_at_exit)
            # the same hooks as `leaktrail lines`: sys.monitoring on this code alone (3.12+),
            # else a global trace function that turns every other function away at its call.
            # (Setting sys.settrace around each call instead costs ~0.5 ms a call on 3.11.)
            _profiler.install_for_code()
        except Exception:
            pass
        return fn

    if func is not None and callable(func):
        return decorate(func)
    return decorate
