"""Counts cyclic garbage — objects alive but unreachable — in a forked copy of the process.

Only the copy walks the heap: it has a single thread, so holding references there cannot
disturb the target (DESIGN.md, Hazards), and the target's collector, finalizers and
weakref callbacks never run on our behalf.  The copy uses the collector's own method
(subtract internal references from reference counts; whatever keeps an external
reference is a root; everything reachable from a root is alive) without collecting.

The fork is forking.fork(): libc's, with the GIL held, none of the target's at-fork hooks.
"""
import gc
import json
import os
import select
import signal
import sys
import time

from . import forking

def _type_key(tp):
    module = getattr(tp, "__module__", "?")
    return "%s.%s" % (module if isinstance(module, str) else "?", getattr(tp, "__qualname__", tp.__name__))


def _preheader(tp):
    """Bytes between the start of an object's memory block and the object itself."""
    flags = tp.__flags__
    if not flags & (1 << 14):  # Py_TPFLAGS_HAVE_GC
        return 0
    size = 16  # PyGC_Head
    if sys.version_info[:2] == (3, 11) and flags & (1 << 4):
        size += 16  # managed dict
    elif sys.version_info >= (3, 12) and flags & ((1 << 4) | (1 << 3)):
        size += 16  # managed dict or managed weakref
    return size


def _unreachable(per_type):
    """Runs in the child: {"objects", "unreachable", "types", "blocks"}.

    tracemalloc is stopped first (in the child only: it makes every allocation slow);
    the parent looks up where unreachable objects were allocated from their block
    addresses, which this returns for up to ``per_type`` objects of each type.
    """
    import tracemalloc

    tracemalloc.stop()
    probe = [None]  # made before the walk, referred to by this frame only: measures our overhead
    objs = gc.get_objects()
    ids = list(map(id, objs))
    index = dict(zip(ids, range(len(ids))))
    internal = {}
    for i in map(id, gc.get_referents(*objs)):
        internal[i] = internal.get(i, 0) + 1
    counts = [sys.getrefcount(o) for o in objs]
    probe_i = index[id(probe)]
    overhead = counts[probe_i] - internal.get(id(probe), 0) - 1
    roots = [i for i, n in enumerate(counts) if n - overhead - internal.get(ids[i], 0) > 0]
    alive = set(ids[i] for i in roots)
    frontier = [objs[i] for i in roots]
    while frontier:
        found = set(map(id, gc.get_referents(*frontier)))
        found.difference_update(alive)
        found.intersection_update(index)
        alive.update(found)
        frontier = [objs[index[i]] for i in found]
    types = {}
    blocks = {}
    unreachable = 0
    for i, o in enumerate(objs):
        if ids[i] in alive or i == probe_i:
            continue
        unreachable += 1
        tp = type(o)
        key = _type_key(tp)
        types[key] = types.get(key, 0) + 1
        # keep the newest: with tracing windows only recent objects have a traceback
        kept = blocks.setdefault(key, [])
        kept.append(ids[i] - _preheader(tp))
        if len(kept) > 2 * per_type:
            del kept[:per_type]
    for key, kept in blocks.items():
        del kept[:-per_type]
    return {"objects": len(objs), "unreachable": unreachable, "types": types, "blocks": blocks}


_lookup = None


def block_traceback(address):
    """tracemalloc's traceback of the memory block starting at ``address``, or None."""
    global _lookup
    if _lookup is None:
        import ctypes

        _lookup = ctypes.pythonapi._PyTraceMalloc_GetTraceback
        _lookup.restype = ctypes.py_object
        _lookup.argtypes = [ctypes.c_uint, ctypes.c_size_t]
    return _lookup(0, address)


def probe(timeout=20.0, per_type=200):
    """Forks, counts unreachable objects in the child, returns its answer (or None)."""
    read_end, write_end = os.pipe()
    pid = forking.fork()
    if pid == 0:  # the child: one thread, a copy of the heap
        status = 0
        try:
            gc.disable()  # a collection would run the target's finalizers here
            forking.keep_only(write_end)
            forking.untrace_copy()
            forking.write_all(write_end, json.dumps(_unreachable(per_type)).encode())
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
