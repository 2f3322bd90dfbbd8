"""Cheap, always-on measurements: RSS, Python heap, the collector's counters and pauses."""
import gc
import os
import sys
import threading
import time
import tracemalloc

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_bytes():
    """Resident set size now (not the peak), from /proc; -1 where there is no /proc."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return -1


class GcPauses:
    """Times each collection through ``gc.callbacks``.

    The callback runs in whichever thread triggered the collection, inside the target's
    own code path: it only reads a clock and adds, and swallows everything.
    """

    def __init__(self):
        self.pause = [0.0, 0.0, 0.0]
        self._started = None

    def __call__(self, phase, info):
        try:
            if phase == "start":
                self._started = time.perf_counter()
            elif self._started is not None:
                gen = info.get("generation", 2)
                if 0 <= gen <= 2:
                    self.pause[gen] += time.perf_counter() - self._started
                self._started = None
        except Exception:
            pass

    def install(self):
        if self not in gc.callbacks:
            gc.callbacks.append(self)

    def remove(self):
        try:
            gc.callbacks.remove(self)
        except ValueError:
            pass


_MAX_TASKS_READ = 64


def cpu_demand(exclude_tid=None, per_thread=False):
    """Seconds the process's threads (but ``exclude_tid``) ran or waited to run, or None.

    From /proc/self/task/*/schedstat: time on a CPU plus time runnable in a run queue.
    Unlike CPU time, it does not fall when other processes crowd the machine: a busy
    program on a loaded machine still wants a whole CPU.  None where the kernel does not
    tell, or where there are too many threads to read cheaply.  With ``per_thread``,
    {thread id: seconds} instead of their sum.
    """
    try:
        tasks = os.listdir("/proc/self/task")
        if len(tasks) > _MAX_TASKS_READ:
            return None
        each = {}
        for task in tasks:
            if task == str(exclude_tid):
                continue
            try:
                with open("/proc/self/task/%s/schedstat" % task, "rb") as f:
                    on_cpu, waiting = f.read().split()[:2]
            except (OSError, ValueError):
                continue  # a thread that ended meanwhile
            each[task] = (int(on_cpu) + int(waiting)) / 1e9
        return each if per_thread else sum(each.values())
    except (OSError, ValueError):
        return None


def sample(pid, pauses, agent_cpu, agent_heap=0, whole_heap_traced=True, agent_blocks=0):
    """One sample; ``heap`` leaves out ``agent_heap``, the agent's own traced bytes.

    ``heap`` is -1 unless tracemalloc has traced the whole run (in a tracing window it
    would only count the window's allocations); ``blocks`` is always there.
    """
    stats = gc.get_stats()
    tracing = whole_heap_traced and tracemalloc.is_tracing()
    heap = max(0, tracemalloc.get_traced_memory()[0] - agent_heap) if tracing else -1
    return {
        "k": "sample",
        "pid": pid,
        "t": time.time(),
        "rss": rss_bytes(),
        "heap": heap,
        "blocks": sys.getallocatedblocks() - agent_blocks,
        "trace_overhead": tracemalloc.get_tracemalloc_memory() if tracemalloc.is_tracing() else 0,
        "gc_count": list(gc.get_count()),
        "gc_collections": [s.get("collections", 0) for s in stats],
        "gc_collected": [s.get("collected", 0) for s in stats],
        "gc_uncollectable": [s.get("uncollectable", 0) for s in stats],
        "gc_pause": [round(p, 6) for p in pauses.pause],
        "gc_enabled": gc.isenabled(),
        "gc_frozen": gc.get_freeze_count() if hasattr(gc, "get_freeze_count") else 0,
        "gc_garbage": len(gc.garbage),
        "threads": threading.active_count(),
        "agent_cpu": round(agent_cpu, 6),
    }
