"""What a tracing window left alive, surveyed in a forked copy of the process.

Closing a window asks tracemalloc where every live object was allocated, and groups its
traces by traceback.  Done in the process, that walk has to run while tracemalloc still
traces (stopping it forgets the traces), so each of the walk's own allocations costs
10-30x, and the program waits for the GIL all along: 0.1-0.3 s a close on an
allocation-heavy loop, most of what a busy program paid for its windows.  Done in a copy,
the program pauses for the fork only and is untraced at once; the copy, at the lowest
priority and with tracemalloc's hooks taken off its allocators (forking.untrace_copy),
surveys the heap and writes the result to a pipe, which the agent reads on later ticks.

The copy follows forking.py's rules: it never releases the GIL (libc's write, no
imports, no file system calls), and an alarm ends it whatever state it is in.  Results
are plain data: tracebacks the agent already sent go by their id, new ones as frames.
"""
import json
import os
import time

from . import forking, heapwalk

try:
    from _tracemalloc import _get_traces
except ImportError:  # pragma: no cover
    _get_traces = None

_HERE = os.path.dirname(os.path.abspath(__file__))
SITES_PER_TYPE = 20  # allocation sites kept per type of a window's survivors


def _agents(frames):
    return any(f[0].startswith(_HERE) for f in frames)


def heap_sites(known, sticky, max_sites):
    """tracemalloc's traces grouped by traceback, the agent's own left out.

    Returns {"sites": [(frames, size, count)], "size", "count", "rest": [size, count],
    "own": the agent's traced bytes, "seconds"}: the ``max_sites`` largest sites, and any
    whose traceback id (``known(frames)``) is in ``sticky``.
    """
    started = time.perf_counter()
    groups = {}
    for trace in _get_traces():
        frames = trace[2]
        group = groups.get(frames)
        if group is None:
            groups[frames] = [trace[1], 1]
        else:
            group[0] += trace[1]
            group[1] += 1
    total_size = total_count = own = 0
    mine = []
    for frames, (size, count) in groups.items():
        if _agents(frames):
            own += size
            continue
        total_size += size
        total_count += count
        mine.append((size, count, frames))
    mine.sort(key=lambda g: -g[0])
    sites = []
    shown_size = shown_count = 0
    for i, (size, count, frames) in enumerate(mine):
        if i < max_sites or known(frames) in sticky:
            sites.append((frames, size, count))
            shown_size += size
            shown_count += count
    return {"sites": sites, "size": total_size, "count": total_count, "own": own,
            "rest": [total_size - shown_size, total_count - shown_count],
            "seconds": round(time.perf_counter() - started, 6)}


def window_survivors():
    """Every live object tracemalloc traced (so: allocated in the window), by type and site.

    Returns [(id(type), "module.qualname", has_gc, instances, [(frames, n)])], the
    agent's own objects left out, SITES_PER_TYPE sites per type.
    """
    per_type = {}
    for (type_id, frames), n in heapwalk.traced_objects().items():
        if not _agents(frames):
            per_type.setdefault(type_id, {})[frames] = n
    if not per_type:
        return []
    out = []
    types = heapwalk.all_types()
    for type_id, counts in per_type.items():
        tp = types.get(type_id)
        try:
            key, has_gc = heapwalk.type_key(tp), bool(tp.__flags__ & (1 << 14))
        except Exception:
            key, has_gc = "?.?", False
        top = sorted(counts.items(), key=lambda kv: -kv[1])[:SITES_PER_TYPE]
        out.append((type_id, key, has_gc, sum(counts.values()), top))
    return out


class Survey:
    """A survey running in a copy; ``poll()`` returns its result once the copy is done.

    The copy writes its pid on a line of its own, then its result (become_walker).
    """

    def __init__(self, fd, deadline):
        self._fd = fd
        self._deadline = deadline
        self._chunks = []
        self.done = False

    def poll(self):
        """The result (a dict), or None: not yet, or never (the copy failed or timed out;
        then ``done`` is set)."""
        if self.done:
            return None
        try:
            while True:
                chunk = os.read(self._fd, 1 << 16)
                if not chunk:
                    self.close()
                    return self._decode()
                self._chunks.append(chunk)
        except BlockingIOError:
            if time.monotonic() > self._deadline:
                self.close()
            return None
        except OSError:
            self.close()
            return None

    def wait(self, timeout):
        """Polls until a result or ``timeout`` seconds; the result or None."""
        give_up = time.monotonic() + timeout
        while not self.done and time.monotonic() < give_up:
            result = self.poll()
            if result is not None or self.done:
                return result
            time.sleep(0.01)
        return None

    def hurry(self):
        """Lets the copy run as the program's equal instead of on idle CPU only: the program
        is ending and waits for it.  On a machine kept busy by other processes a copy at the
        lowest priority may never run (SCHED_IDLE), and the window it surveys would be lost.
        Only a privileged process (root, CAP_SYS_NICE) may undo SCHED_IDLE: elsewhere the
        copy keeps its priority.  True if raised."""
        self.poll()
        pid = self._pid()
        if self.done or pid is None:
            return False  # (its pipe still open: the copy is alive, its pid not reused)
        try:
            os.sched_setscheduler(pid, os.SCHED_OTHER, os.sched_param(0))
            os.setpriority(os.PRIO_PROCESS, pid, 0)
        except (OSError, AttributeError):
            return False
        return True

    def _pid(self):
        head = b"".join(self._chunks[:2])
        line, newline, _ = head.partition(b"\n")
        return int(line) if newline and line.isdigit() else None

    def close(self):
        if not self.done:
            self.done = True
            try:
                os.close(self._fd)
            except OSError:
                pass

    def _decode(self):
        _, newline, answer = b"".join(self._chunks).partition(b"\n")
        try:
            return json.loads(answer.decode("utf-8")) if newline else None
        except ValueError:
            return None  # a copy cut short (killed by its alarm) wrote part of its answer


def start(known, sticky, max_sites, timeout=60.0):
    """Forks a copy that surveys the window; returns (Survey, seconds paused) or None.

    ``known`` and ``sticky`` are as for heap_sites(), read in the copy: the tracebacks
    the agent had sent when it forked.
    """
    if _get_traces is None:
        return None
    forking.libc()  # loaded now: the copy must never import
    read_end, write_end = os.pipe()
    child, paused = -1, 0.0
    try:
        os.set_blocking(read_end, False)
        child, paused = forking.fork(timed=True)
        if child == 0:
            _survey_in_copy(write_end, known, sticky, max_sites, int(timeout))
    except BaseException:
        os.close(read_end)
        raise
    finally:
        os.close(write_end)  # the copy's end; in the copy itself, never reached
    if child < 0:
        os.close(read_end)
        return None
    forking.reap(child, 2.0)  # the child only forks again: milliseconds
    return Survey(read_end, time.monotonic() + timeout + 5.0), paused


def _survey_in_copy(fd, known, sticky, max_sites, timeout):
    """In the copy: survey, write, exit.  Never returns; never releases the GIL."""
    status = 0
    try:
        forking.become_walker(fd, timeout, announce=True)
        heap = heap_sites(known, sticky, max_sites)
        heap["sites"] = [_by_id(known, frames) + [size, count] for frames, size, count in heap["sites"]]
        objects = [[type_id, key, has_gc, n, [_by_id(known, frames) + [k] for frames, k in top]]
                   for type_id, key, has_gc, n, top in window_survivors()]
        data = json.dumps({"heap": heap, "objects": objects}, separators=(",", ":"))
        forking.write_all(fd, data.encode("utf-8", "replace"))
    except BaseException:
        status = 1
    finally:
        os._exit(status)


def _by_id(known, frames):
    """[id, None] for a traceback the agent sent already, else [0, frames]."""
    tb_id = known(frames)
    return [tb_id, None] if tb_id else [0, frames]


def decode(result):
    """A copy's answer as heap_sites() and window_survivors() give it, but for the
    tracebacks: each is an id the agent sent already, or frames (tuples, as tracemalloc
    gives them: the same hash)."""
    heap = dict(result["heap"])
    heap["sites"] = [(_ref(tb_id, frames), size, count) for tb_id, frames, size, count in heap["sites"]]
    survivors = [(type_id, key, has_gc, n, [(_ref(tb_id, frames), k) for tb_id, frames, k in top])
                 for type_id, key, has_gc, n, top in result["objects"]]
    return heap, survivors


def _ref(tb_id, frames):
    return tb_id if tb_id else tuple(tuple(f) for f in frames)

