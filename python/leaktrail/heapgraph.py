"""The heap graph: every object, what it refers to and why, written by a forked copy.

The walk runs in a child made by libc's ``fork()`` (see garbage.py for why not
``os.fork()``): the child has one thread and a copy of the heap, so it may hold
references, run plain Python over every object and take its time; the target only pays
for the fork.  The child writes the payload that src/heap/format.ts specifies (``LTHG``
v1), zlib-compressed, and sends it to the CLI over a connection of its own.

Edges are labelled as a person reads them: an instance's, module's or class's ``__dict__``
is folded into its owner (``.name`` edges), dicts give ``['key']`` edges, lists and tuples
``[i]``, closures their variable names, frames their locals.  No user code runs in the
child: attributes are read through the C-level descriptors of the built-in types, never
through ``getattr`` on the object (a ``__getattr__`` could write to the target's sockets).
"""
import base64
import gc
import json
import os
import struct
import sys
import time
import tracemalloc
import types
import zlib
from array import array
from collections import Counter
from itertools import chain

from . import forking
from .transport import Transport

NONE = 0xFFFFFFFF
MAX_SIZE = 0xFFFFFFFF
# Edge kinds, as in src/heap/format.ts
REF, ATTR, ITEM, KEY, INDEX, CELL, LOCAL, FIELD, MEMBER = range(9)
# Root kinds; AGENT marks the measurer's own objects: what only they reach is left out
MODULE_ROOT, THREAD_ROOT, EXTERNAL_ROOT, AGENT_ROOT = 1, 2, 3, 4
VALUES_FLAG = 1
_VALUE_CHARS = 200
_KEY_CHARS = 120

_dict_items = dict.items
_get_dict = types.ModuleType.__dict__["__dict__"].__get__
_type_dict = type.__dict__["__dict__"].__get__
_type_module = type.__dict__["__module__"].__get__
_type_qualname = type.__dict__["__qualname__"].__get__
_func_qualname = types.FunctionType.__dict__["__qualname__"].__get__
_type_mro = type.__dict__["__mro__"].__get__
_type_flags = type.__dict__["__flags__"].__get__
_type_dictoffset = type.__dict__["__dictoffset__"].__get__
_MANAGED_DICT = 1 << 4  # Py_TPFLAGS_MANAGED_DICT (3.11+): attributes without a dict until asked
_FRAME_TYPE = type(sys._getframe())
_CELL_TYPE = type((lambda x: lambda: x)(0).__closure__[0])
_GENERATORS = (types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType)
_ATOMIC = (str, bytes, int, float, complex, bool, type(None))
_CONTAINERS = (dict, list, tuple, set, frozenset)
_ITEM_KINDS = bytes([ITEM]) * 4096
_KEY_KINDS = bytes([KEY]) * 4096
_NONES = array("I", [NONE]) * 4096


def _items_in_order(seq):
    """A list's or tuple's items, in order, without iterating it.

    The copy may hold a tuple that another thread of the target was building at the fork
    (``tuple(generator)`` fills its slots one by one): iterating it would read an empty
    slot and crash.  The collector's traversal skips empty slots; when it returns fewer
    items than the length says, the caller must not number them.
    """
    items = gc.get_referents(seq)
    if _TRAVERSED_BACKWARDS:
        items.reverse()
    return items


# CPython's list and tuple traversals run from the last item to the first
_TRAVERSED_BACKWARDS = gc.get_referents(([], {}))[0].__class__ is dict


def _all_str(keys):
    """Only exact str: a subclass's __hash__ or __eq__ would be the program's code."""
    return set(map(type, keys)) <= {str}


def _key_text(key):
    tp = type(key)
    if tp is str:
        return key[:_KEY_CHARS]
    if tp in (int, float, bool) or key is None:
        return repr(key)
    return "<%s>" % tp.__name__


class _Strings(dict):
    """The string table: text -> index.  Looking up a known text is one C call
    (``strings[text]``); only new texts run Python (``__missing__``)."""

    def __init__(self):
        super().__init__()
        self.items = []

    def __missing__(self, text):
        cut = text[:_KEY_CHARS] if type(text) is str else _key_text(text)
        i = dict.get(self, cut)
        if i is None:
            i = len(self.items)
            self.items.append(cut)
            dict.__setitem__(self, cut, i)
        if cut is not text:
            dict.__setitem__(self, text, i)
        return i

    __call__ = dict.__getitem__


class _Walker:
    """Reads objects' labelled edges; caches what it learns per type."""

    def __init__(self, library_paths):
        self.strings = _Strings()
        self.library_paths = tuple(library_paths)
        self.index = {}  # id -> node; a folded __dict__'s id -> its owner's node
        self._type_names = {}
        self._dict_descr = {}
        self._slots = {}
        self._sites = {}

    # -- per type, cached --------------------------------------------------------

    def type_name(self, tp):
        key = id(tp)
        i = self._type_names.get(key)
        if i is None:
            try:
                module = _type_module(tp)
            except Exception:
                module = "?"
            try:
                name = _type_qualname(tp)
            except Exception:
                name = "?"
            i = self._type_names[key] = self.strings("%s.%s" % (module if type(module) is str else "?", name))
        return i

    def dict_of(self, obj, tp):
        """The instance's own ``__dict__``, read through the type's C descriptor, or None."""
        descr = self._dict_descr.get(tp, False)
        if descr is False:
            descr = None
            if _type_dictoffset(tp) or _type_flags(tp) & _MANAGED_DICT:
                for base in _type_mro(tp):
                    found = _type_dict(base).get("__dict__")
                    if found is not None:
                        # a getset_descriptor is C code; a property named __dict__ is not
                        if type(found).__name__ == "getset_descriptor":
                            descr = found.__get__
                        break
            self._dict_descr[tp] = descr
        if descr is None:
            return None
        try:
            d = descr(obj)
        except Exception:
            return None
        return d if type(d) is dict else None

    def slots_of(self, tp):
        slots = self._slots.get(tp)
        if slots is None:
            slots = []
            for base in _type_mro(tp):
                for name, value in _type_dict(base).items():
                    if type(value).__name__ == "member_descriptor" and name not in ("__weakref__", "__dict__"):
                        slots.append((self.strings(name), value.__get__))
            self._slots[tp] = slots
        return slots

    def site(self, raw):
        """'file:line' of the first frame outside the libraries, from a tracemalloc traceback."""
        i = self._sites.get(raw)
        if i is None:
            frame = raw[0]
            for filename, line in raw:
                if not filename.startswith(self.library_paths) and not filename.startswith("<"):
                    frame = (filename, line)
                    break
            i = self._sites[raw] = self.strings("%s:%d" % frame)
        return i

    def own_dict(self, obj):
        """The dict that holds obj's attributes, to be folded into obj; or None."""
        tp = type(obj)
        if tp is dict or tp in _ATOMIC:
            return None
        if issubclass(tp, types.ModuleType):
            return _get_dict(obj)
        if issubclass(tp, type):
            inner = gc.get_referents(_type_dict(obj))  # the mappingproxy's dict
            return inner[0] if inner and type(inner[0]) is dict else None
        return self.dict_of(obj, tp)

    # -- edges ---------------------------------------------------------------------

    def target(self, obj):
        return self.index.get(id(obj))

    def edges_of(self, obj, out_target, out_label, out_kind):
        """Appends obj's labelled edges, then its other referents as REF edges."""
        tp = type(obj)
        if tp in _ATOMIC:
            return
        if tp in _CONTAINERS:
            # the common case, in bulk: every item of a container is a node (the
            # population is closed under references), and nothing else is referred to
            node = self.index.get
            if tp is dict:
                keys = list(obj)
                targets = list(map(node, map(id, dict.values(obj))))
                targets.extend(map(node, map(id, keys)))
                if None in targets:
                    return self.edges_slowly(obj, tp, out_target, out_label, out_kind)
                labels = list(map(self.strings, keys)) if _all_str(keys) else [self.strings(_key_text(k)) for k in keys]
                out_target.extend(targets)
                out_label.extend(labels)
                out_label.extend(labels)
                out_kind.extend(_ITEM_KINDS[:len(keys)] if len(keys) <= 4096 else bytes([ITEM]) * len(keys))
                out_kind.extend(_KEY_KINDS[:len(keys)] if len(keys) <= 4096 else bytes([KEY]) * len(keys))
            elif tp is list or tp is tuple:
                items = _items_in_order(obj)
                targets = list(map(node, map(id, items)))
                if None in targets or len(items) != len(obj):
                    return self.edges_slowly(obj, tp, out_target, out_label, out_kind)
                out_target.extend(targets)
                out_label.extend(range(len(obj)))
                out_kind.extend(bytes([INDEX]) * len(obj))
            else:
                targets = list(map(node, map(id, obj)))
                if None in targets:
                    return self.edges_slowly(obj, tp, out_target, out_label, out_kind)
                out_target.extend(targets)
                out_label.extend(_NONES[:len(obj)] if len(obj) <= 4096 else array("I", [NONE]) * len(obj))
                out_kind.extend(bytes([MEMBER]) * len(obj))
            return
        self.edges_slowly(obj, tp, out_target, out_label, out_kind)

    def edges_slowly(self, obj, tp, out_target, out_label, out_kind):
        """One edge at a time, labelled by what the object is."""
        labelled = set()
        strings = self.strings
        target = self.target

        def add(child, kind, label):
            j = target(child)
            if j is not None:
                out_target.append(j)
                out_label.append(label)
                out_kind.append(kind)
            labelled.add(id(child))

        def add_dict(d, kind):
            for k, v in (_dict_items(d) if type(d) is dict else d.items()):
                text = strings(k)
                add(v, kind, text)
                if kind == ITEM:
                    add(k, KEY, text)
            labelled.add(id(d))

        if issubclass(tp, dict):
            add_dict(obj, ITEM)
        elif issubclass(tp, (list, tuple)):
            items = _items_in_order(obj)
            if len(items) == len(obj):  # else an empty slot: the items are plain referents
                for n, item in enumerate(items):
                    add(item, INDEX, n)
        elif issubclass(tp, (set, frozenset)):
            for item in (set.__iter__(obj) if issubclass(tp, set) else frozenset.__iter__(obj)):
                add(item, MEMBER, NONE)
        elif issubclass(tp, types.ModuleType):
            add_dict(_get_dict(obj), ATTR)
        elif issubclass(tp, type):
            add_dict(_type_dict(obj), ATTR)
            labelled.update(map(id, gc.get_referents(_type_dict(obj))))
            for name in ("__mro__", "__bases__"):
                add(type.__dict__[name].__get__(obj), FIELD, strings(name))
        elif tp is types.FunctionType:
            closure = obj.__closure__
            if closure:
                for name, cell in zip(obj.__code__.co_freevars, closure):
                    try:
                        add(cell.cell_contents, CELL, strings(name))
                    except ValueError:
                        pass  # an empty cell
                    labelled.add(id(cell))
            for name in ("__defaults__", "__kwdefaults__", "__globals__", "__code__"):
                value = types.FunctionType.__dict__[name].__get__(obj)
                if value is not None:
                    add(value, FIELD, strings(name))
        elif tp is types.MethodType:
            add(obj.__self__, FIELD, strings("__self__"))
            add(obj.__func__, FIELD, strings("__func__"))
        elif tp is _CELL_TYPE:
            try:
                add(obj.cell_contents, FIELD, strings("cell_contents"))
            except ValueError:
                pass
        elif tp is _FRAME_TYPE:
            self.frame_edges(obj, add, strings)
        elif tp is types.TracebackType:
            add(obj.tb_frame, FIELD, strings("tb_frame"))
            if obj.tb_next is not None:
                add(obj.tb_next, FIELD, strings("tb_next"))
        elif tp in _GENERATORS:
            frame = getattr(obj, "gi_frame", None) or getattr(obj, "cr_frame", None) or getattr(obj, "ag_frame", None)
            if frame is not None:
                add(frame, FIELD, strings("frame"))
        if issubclass(tp, BaseException):
            for name in ("__traceback__", "__context__", "__cause__", "args"):
                value = BaseException.__dict__[name].__get__(obj)
                if value is not None:
                    add(value, FIELD, strings(name))
        if not issubclass(tp, (dict, types.ModuleType, type)):
            d = self.dict_of(obj, tp)
            if d is not None:
                add_dict(d, ATTR)
            for name, get in self.slots_of(tp):
                try:
                    add(get(obj), ATTR, name)
                except Exception:
                    pass  # an unset slot
        for child in gc.get_referents(obj):
            if id(child) not in labelled:
                j = target(child)
                if j is not None:
                    out_target.append(j)
                    out_label.append(NONE)
                    out_kind.append(REF)

    def frame_edges(self, frame, add, strings):
        try:
            for name, value in frame.f_locals.items():
                add(value, LOCAL, strings(name if type(name) is str else "?"))
        except Exception:
            pass
        if frame.f_back is not None:
            add(frame.f_back, FIELD, strings("f_back"))
        add(frame.f_globals, FIELD, strings("f_globals"))
        add(frame.f_code, FIELD, strings("f_code"))


def _thread_frames():
    """[(thread name, [frames, innermost first])]: made before the heap is listed, so
    that on 3.11+ (where a running frame is an object only once asked for) they are in it."""
    import threading

    names = {t.ident: t.name for t in list(threading._active.values())}
    me = threading.get_ident()
    stacks = []
    for tid, frame in sys._current_frames().items():
        if tid == me:
            # not this function's own frame: it holds the lists it would be put in, a
            # cycle left for the collector after every graph
            frame = frame.f_back
        frames = []
        while frame is not None and len(frames) < 1000:
            frames.append(frame)
            frame = frame.f_back
        stacks.append((names.get(tid, "thread %d" % tid), tid, frames))
    return stacks


def _population(ours, seeds):
    """Every gc-tracked object, and ``seeds``, then what they reach, to closure; minus the
    objects whose ids are in ``ours`` (the walk's own).

    Two kinds of reference the collector does not report are added by hand: a dict's
    keys (a table of str keys only reports its values) and, through ``seeds``, the
    locals of running frames (3.11+ reports none).
    """
    nodes = gc.get_objects()
    seen = set(map(id, nodes))
    fresh = [o for o in seeds if id(o) not in seen]
    seen.update(map(id, fresh))
    nodes.extend(fresh)
    frontier = nodes
    while frontier:
        # in bulk, in C: a dict by id dedupes the referents, a set difference finds the new
        found = gc.get_referents(*frontier)
        found.extend(chain.from_iterable(map(dict.keys, [o for o in frontier if type(o) is dict])))
        by_id = dict(zip(map(id, found), found))
        found = None
        new_ids = by_id.keys() - seen
        seen |= new_ids
        fresh = list(map(by_id.__getitem__, new_ids))
        by_id = None
        nodes.extend(fresh)
        # untracked tuples and dicts hold atoms that are not listed yet; atoms hold nothing
        frontier = [o for o in fresh if type(o) in (tuple, dict)]
    return [o for o in nodes if id(o) not in ours]


def build(library_paths=(), values=False, agent_prefix="leaktrail", stacks=None):
    """The heap graph payload (uncompressed), and its node and edge counts.

    Meant for the forked child; in a live process it is only safe while no other thread
    runs (the unit tests).  Modules named ``agent_prefix``* and threads whose name starts
    with it are the measurer's own: they become AGENT roots, which the engine leaves out.
    """
    if stacks is None:
        stacks = _thread_frames()
    local_values = []
    for _, _, frames in stacks:
        for frame in frames:
            try:
                local_values.extend(frame.f_locals.values())
            except Exception:
                pass
    probe = [None]
    ours = {id(stacks), id(local_values), *map(id, stacks), *(id(s[2]) for s in stacks)}
    nodes = _population(ours, local_values)
    n = len(nodes)
    # Reference counts before anything below adds references (the dicts made for 3.11+
    # instances, the tables): an object held from outside the heap is a root.
    counts = list(map(sys.getrefcount, nodes))
    internal = Counter(map(id, gc.get_referents(*nodes)))
    # Held from outside the heap: more references than the heap's objects account for.
    # Our own references (the node list, a local) are measured on the probe, which only
    # this frame holds (and on 3.9/3.10 this frame is itself a listed object).  Decided
    # now, so that the counts can go: they weigh ~150 bytes an object.
    ids = list(map(id, nodes))
    p = ids.index(id(probe))  # by id: comparing objects could run their __eq__
    overhead = counts[p] - internal.get(id(probe), 0) - (0 if sys.version_info < (3, 11) else 1)
    held_outside = bytearray(c - internal.get(i, 0) > overhead for i, c in zip(ids, counts))
    ids = counts = internal = None
    walker = _Walker(library_paths)
    site = array("I", [NONE]) * n
    if tracemalloc.is_tracing():
        for i, raw in enumerate(map(tracemalloc._get_object_traceback, nodes)):
            if raw:
                site[i] = walker.site(raw)
        tracemalloc.stop()  # the rest allocates a lot: untraced it is many times faster
    owners = {}
    for obj in nodes:
        try:
            d = walker.own_dict(obj)
        except Exception:
            d = None
        if d is not None and id(d) not in owners:
            owners[id(d)] = (obj, d)
    kept = [o for o in nodes if id(o) not in owners]
    kept_held_outside = bytearray(h for o, h in zip(nodes, held_outside) if id(o) not in owners)
    held_outside = None
    kept_site = array("I", [s for o, s in zip(nodes, site) if id(o) not in owners])
    try:
        size_of = dict(zip(map(id, nodes), map(sys.getsizeof, nodes)))
    except Exception:  # an object whose __sizeof__ fails
        size_of = {id(o): sys.getsizeof(o, 0) for o in nodes}
    nodes = site = None
    walker.index = index = dict(zip(map(id, kept), range(len(kept))))
    node_size = array("I", [min(size_of[id(o)], MAX_SIZE) for o in kept])
    for did, (owner, d) in owners.items():
        j = index.get(id(owner))
        if j is not None:
            index[did] = j
            node_size[j] = min(node_size[j] + size_of.get(did, sys.getsizeof(d, 0)), MAX_SIZE)
    size_of = None
    strings = walker.strings
    node_type = array("I", map(walker.type_name, map(type, kept)))
    node_name = array("I", [NONE]) * len(kept)
    first_edge = array("I", [0])
    edge_target, edge_label, edge_kind = array("I"), array("I"), bytearray()
    for obj in kept:
        start = len(edge_target)
        try:
            walker.edges_of(obj, edge_target, edge_label, edge_kind)
        except Exception:
            # an object we cannot read keeps its plain referents
            del edge_target[start:], edge_label[start:], edge_kind[start:]
            for child in gc.get_referents(obj):
                j = walker.target(child)
                if j is not None:
                    edge_target.append(j)
                    edge_label.append(NONE)
                    edge_kind.append(REF)
        first_edge.append(len(edge_target))
    named = {}  # type -> how its instances are named (0: not at all)
    for i, obj in enumerate(kept):
        tp = type(obj)
        how = named.get(tp)
        if how is None:
            how = named[tp] = (1 if issubclass(tp, types.ModuleType) else 2 if issubclass(tp, type)
                               else 3 if tp is types.FunctionType else 4 if values and tp in (str, bytes) else 0)
        if not how:
            continue
        if how == 1:
            name = _get_dict(obj).get("__name__")
            node_name[i] = strings(name if type(name) is str else "?")
        elif how == 2:
            node_name[i] = strings(_type_qualname(obj))
        elif how == 3:
            node_name[i] = strings(_func_qualname(obj))
        else:
            value = obj[:_VALUE_CHARS] if tp is str else obj[:_VALUE_CHARS].decode("latin-1")
            node_name[i] = len(strings.items)  # values are not keys: no cut, no sharing
            strings.items.append(value)
    roots = []
    for name, module in list(sys.modules.items()):
        i = index.get(id(module))
        if i is not None:
            ours = type(name) is str and (name == agent_prefix or name.startswith(agent_prefix + "."))
            roots.append((i, AGENT_ROOT if ours else MODULE_ROOT))
    for thread, tid, frames in stacks:
        ours = thread.startswith(agent_prefix)
        for frame in frames:
            i = index.get(id(frame))
            if i is not None:
                node_name[i] = strings("%s %s" % (thread, frame.f_code.co_name))
                roots.append((i, AGENT_ROOT if ours else THREAD_ROOT))
    roots.extend((i, EXTERNAL_ROOT) for i, held in enumerate(kept_held_outside) if held)
    payload = _encode(strings.items, node_type, node_size, node_name, kept_site, first_edge,
                      edge_target, edge_label, edge_kind, roots, VALUES_FLAG if values else 0)
    return payload, len(kept), len(edge_target)


def _encode(strings, node_type, node_size, node_name, node_site, first_edge, edge_target, edge_label, edge_kind, roots, flags):
    """The LTHG v1 payload (src/heap/format.ts)."""
    parts = [b"LTHG", struct.pack("<7I", 1, len(node_type), len(edge_target), len(strings), len(roots), flags, 0)]
    table = bytearray()
    for text in strings:
        data = text.encode("utf-8", "replace")
        table += struct.pack("<I", len(data))
        table += data
    table += b"\0" * (-len(table) % 4)
    parts.append(bytes(table))
    root_node = array("I", [r[0] for r in roots])
    for arr in (node_type, node_size, node_name, node_site, first_edge, edge_target, edge_label, None, root_node):
        if arr is None:
            parts.append(bytes(edge_kind) + b"\0" * (-len(edge_kind) % 4))
            continue
        if sys.byteorder != "little":
            arr = array("I", arr)
            arr.byteswap()
        parts.append(arr.tobytes())
    kinds = bytes(r[1] for r in roots)
    parts.append(kinds + b"\0" * (-len(kinds) % 4))
    return b"".join(parts)


# -- the dump: fork twice, walk in the grandchild, send on a connection of its own ------

def dump(socket_path, pid, reason, library_paths=(), values=False, timeout=120):
    """Takes a heap graph; returns the seconds the process was paused (the fork), or None.

    What the copy cannot do safely is done here first: list the threads' stacks
    (``sys._current_frames()`` can crash in a copy, where other threads' states are stale)
    and connect to the CLI (the copy must never release the GIL: see forking.py).  Then
    the process forks a child, which forks the grandchild that does the work and exits at
    once: this thread reaps the child in milliseconds, and no process of ours is left for
    the target (or a detach) to wait for.  The grandchild is killed by SIGALRM after
    ``timeout`` seconds whatever state it is in.
    """
    forking.libc()  # everything the copy needs is loaded now: it must never import
    transport = Transport(socket_path)
    try:
        transport.send({"k": "heap-graph-begin", "pid": pid, "t": time.time(), "reason": reason})
        transport.block()  # the copy writes with libc's write(), which must wait, not fail
        stacks = _thread_frames()
        child, paused = forking.fork(timed=True)
        if child == 0:
            _walk_in_copy(transport.fileno(), stacks, pid, reason, paused, library_paths, values, timeout)
        stacks = None
    finally:
        transport.release()  # the copy keeps its own descriptor of the connection
    if child < 0:
        return None
    forking.reap(child, 2.0)  # the child only forks again: milliseconds
    return paused


def _walk_in_copy(fd, stacks, pid, reason, paused, library_paths, values, timeout):
    """In the copy: walk, send, exit.  Never returns; never releases the GIL."""
    status = 0
    try:
        forking.become_walker(fd, timeout)
        walk_started = time.perf_counter()
        rss_at_start = forking.peak_rss()
        record = {"k": "heap-graph", "pid": pid, "reason": reason}
        try:
            payload, objects, edges = build(library_paths, values, stacks=stacks)
            record.update({
                "t": time.time(), "objects": objects, "edges": edges, "pause_seconds": round(paused, 6),
                "capture_seconds": round(time.perf_counter() - walk_started, 6),
                "payload_bytes": len(payload),
                # resident size of the copy: it shares the target's pages until it writes to
                # them (reference counts do), so the peak is what the walk cost the machine at most
                "copy_start_rss_bytes": rss_at_start, "copy_peak_rss_bytes": forking.peak_rss(),
                # the CLI compresses it: zlib would release the GIL here
                "encoding": "base64", "data": base64.b64encode(payload).decode("ascii"),
            })
        except Exception as exc:
            status = 1
            record = {"k": "agent-error", "pid": pid, "t": time.time(), "where": "heap-graph",
                      "message": "%s: %s" % (type(exc).__name__, exc)}
        forking.write_all(fd, (json.dumps(record, separators=(",", ":")) + "\n").encode("utf-8", "replace"))
    except BaseException as exc:
        status = 1
        try:
            # on a line of its own: a graph cut short is a line the CLI skips
            forking.write_all(fd, ('\n{"k":"agent-error","pid":%d,"t":%f,"where":"heap-graph copy","message":%s}\n'
                                   % (pid, time.time(), json.dumps("%s: %s" % (type(exc).__name__, exc)))).encode())
        except BaseException:
            pass
    finally:
        os._exit(status)
