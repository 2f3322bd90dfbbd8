"""Counts cyclic garbage — objects alive but unreachable — in a forked copy of the process.

Only the copy walks the heap: it has a single thread, so holding references there cannot
disturb the target (DESIGN.md, Hazards), and the target's collector, finalizers and
weakref callbacks never run on our behalf.  The copy uses the collector's own method
(subtract internal references from reference counts; whatever keeps an external
reference is a root; everything reachable from a root is alive) without collecting.

The fork is libc's ``fork()`` called through ``ctypes.PyDLL``, which keeps the GIL held
across the call: ``os.fork()`` would run the target's at-fork hooks and, on 3.12+, print a
DeprecationWarning into the target's stderr when threads exist.
"""
import gc
import json
import os
import select
import signal
import sys
import time

_fork = None


def _libc_fork():
    global _fork
    if _fork is None:
        import ctypes

        _fork = ctypes.PyDLL(None).fork
        _fork.restype = ctypes.c_int
        _fork.argtypes = []
    return _fork


def _type_key(tp):
    module = getattr(tp, "__module__", "?")
    return "%s.%s" % (module if isinstance(module, str) else "?", getattr(tp, "__qualname__", tp.__name__))


def _unreachable(trace_sites, max_sites):
    """Runs in the child: {"objects", "unreachable", "types", "sites"}."""
    from _tracemalloc import _get_object_traceback, is_tracing

    objs = gc.get_objects()
    index = {id(o): i for i, o in enumerate(objs)}
    probe = []
    probe_list = [probe]
    # What our own bookkeeping adds to a reference count: one for the list, one for the
    # loop variable, one for getrefcount's argument.  Measured, not assumed.
    overhead = [sys.getrefcount(o) for o in probe_list][0] - 1
    refs = [sys.getrefcount(o) - overhead for o in objs]
    get_referents = gc.get_referents
    for o in objs:
        for r in get_referents(o):
            i = index.get(id(r))
            if i is not None:
                refs[i] -= 1
    alive = bytearray(len(objs))
    stack = [i for i, n in enumerate(refs) if n > 0]
    for i in stack:
        alive[i] = 1
    while stack:
        for r in get_referents(objs[stack.pop()]):
            i = index.get(id(r))
            if i is not None and not alive[i]:
                alive[i] = 1
                stack.append(i)
    types = {}
    sites = {}
    tracing = trace_sites and is_tracing()
    raw = None
    if tracing and sys.version_info[:2] == (3, 11):
        from leaktrail.heapwalk import _raw_traceback as raw
    unreachable = 0
    for i, o in enumerate(objs):
        if alive[i] or o is probe or o is probe_list:
            continue
        unreachable += 1
        tp = type(o)
        key = _type_key(tp)
        types[key] = types.get(key, 0) + 1
        if tracing:
            if raw is not None and tp.__flags__ & (1 << 4):
                tb = raw(0, id(o) - 32)
            else:
                tb = _get_object_traceback(o)
            if tb is not None:
                skey = (key, tb)
                sites[skey] = sites.get(skey, 0) + 1
    top = sorted(sites.items(), key=lambda kv: -kv[1])[:max_sites]
    return {
        "objects": len(objs),
        "unreachable": unreachable,
        "types": types,
        "sites": [[k[0], [list(f) for f in k[1]], n] for k, n in top],
    }


def probe(timeout=20.0, trace_sites=True, max_sites=50):
    """Forks, counts unreachable objects in the child, returns its answer (or None)."""
    fork = _libc_fork()
    read_end, write_end = os.pipe()
    pid = fork()
    if pid == 0:  # the child: one thread, a copy of the heap
        status = 0
        try:
            os.close(read_end)
            gc.disable()
            data = json.dumps(_unreachable(trace_sites, max_sites)).encode()
            view = memoryview(data)
            while view:
                view = view[os.write(write_end, view):]
        except BaseException:
            status = 1
        finally:
            os._exit(status)
    os.close(write_end)
    if pid < 0:
        os.close(read_end)
        return None
    chunks = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                break
            ready, _, _ = select.select([read_end], [], [], min(left, 0.5))
            if ready:
                chunk = os.read(read_end, 1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
    finally:
        os.close(read_end)
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
    if not chunks:
        return None
    try:
        return json.loads(b"".join(chunks))
    except ValueError:
        return None
