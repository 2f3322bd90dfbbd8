"""Walks over the live heap that never hold a reference while bytecode runs.

Why this looks strange: a list from ``gc.get_objects()`` holds a reference to every
object, including tuples that C code is still building in another thread.  CPython's
``_PyTuple_Resize`` fails ("bad argument to internal function") when such a tuple has a
second reference, so a census written as Python code over that list breaks the target
(DESIGN.md, Hazards).  Every walk here is therefore a lazy chain of C iterators
(``map``, ``tee``, ``compress``, ...) built *before* the heap list exists, then consumed
by a single C call (``deque(chain, maxlen=0)``).  The list is created, consumed and
freed inside that one call, with no bytecode in between, so no other thread can run
while we hold it.  The chain is never bound to a name in the calling frame, so it dies
inside the same call instruction that consumed it.

Results hold only plain data (type ids, counts, traceback tuples), never target objects.
"""
import gc
import os
import sys
from collections import defaultdict, deque
from itertools import chain, compress, filterfalse, islice, repeat, starmap, tee
from operator import itemgetter, methodcaller, sub

try:
    from _collections import _count_elements
except ImportError:  # pragma: no cover - every supported CPython has it
    _count_elements = None

try:
    from _tracemalloc import _get_object_traceback
except ImportError:  # pragma: no cover
    _get_object_traceback = None

_MANAGED_DICT = 1 << 4  # Py_TPFLAGS_MANAGED_DICT (3.11+)
_HAVE_GC = 1 << 14  # Py_TPFLAGS_HAVE_GC
_MAX_LOOKED_AT = 50_000  # instances whose allocation traceback one walk looks up


def _heap_lists():
    """A stream yielding, when pulled, one list of every gc-tracked object."""
    return map(gc.get_objects, repeat(None, 1))


def _referent_lists():
    """A stream yielding one list of everything gc-tracked objects refer to."""
    return starmap(gc.get_referents, _heap_lists())


def _untracked_referents():
    """Objects the collector does not track, found as referents of tracked ones.

    That is every str, bytes, int and float, and also dicts and tuples that hold only
    such atomic values: CPython stops tracking those, so ``gc.get_objects()`` misses a
    cache dict of bytes or a tuple of numbers.
    """
    return map(filterfalse, repeat(gc.is_tracked), _referent_lists())


def _inner_referents():
    """What untracked containers hold (the bytes in an untracked dict, say)."""
    return starmap(gc.get_referents, _untracked_referents())


_PADDING = 64  # more than a tee buffer's link holds (57 items)


def _untracked_population():
    """The untracked referents, followed by what they hold: one walk over the referents.

    Padded with Nones, as in _population_lists: the tee buffers keep the last items they
    passed until the walk's frame returns, and they must not be the target's objects.
    census() takes the padding off its count.
    """
    mine, theirs = _twice(map(chain, _untracked_referents(), repeat(repeat(None, _PADDING))))
    return map(chain, mine, starmap(gc.get_referents, theirs))


def _population_lists():
    """Everything that is referred to: a leaked object always is.

    Padded with Nones so that ``tee`` buffers, which keep the last few items they
    passed, end up holding Nones rather than the target's objects.
    """
    return map(chain, _referent_lists(), _inner_referents(), repeat(repeat(None, _PADDING)))


def _twice(stream):
    """Two streams over the same items of each iterable that ``stream`` yields.

    Only iterators made after the heap list exist hold its items: a container made
    before would be in that list itself and close a reference cycle around it.
    """
    p1, p2 = tee(map(tee, stream))
    return map(itemgetter(0), p1), map(itemgetter(1), p2)


def _at_most(iterators, n):
    """Each iterator's first ``n`` items, then the rest consumed unseen.

    A walk must run every iterator in its chain to the end: one left part-way (as islice
    leaves it) keeps the heap list it reads, and the list holds the chain's own iterators,
    made before it: a reference cycle that kept the list, and so every object of the
    program, referenced until the next collection.  The rest is drained by a compress
    that selects nothing, over the same iterator.
    """
    first, rest = tee(iterators)
    return map(chain, map(islice, first, repeat(n)), map(compress, rest, repeat(repeat(False))))


def _without_collection(work):
    """Runs ``work`` (a lazy stream) with automatic collection off, all inside C.

    A collection triggered by an allocation inside a walk (CPython 3.9-3.11 collect at
    the allocation itself) runs ``gc.callbacks`` and finalizers, which are bytecode, so
    another thread could run while the heap list is alive.  The collector is switched
    off and back on by C calls inside the same consumed chain, and only switched back on
    if it was on, so no thread can see or race with the change.
    """
    was_on, was_on_again = tee(starmap(gc.isenabled, repeat((), 1)))
    return chain(
        was_on,
        starmap(gc.disable, repeat((), 1)),
        work,
        starmap(gc.enable, compress(repeat((), 1), was_on_again)),
    )


def _walk(work):
    deque(_without_collection(work), maxlen=0)


def _types_hash_safely():
    """True when hashing any class runs no Python code: no metaclass defines __hash__.

    Counting with classes as dict keys allocates nothing per object, which matters
    because tracemalloc makes every allocation costly; a metaclass with a Python
    ``__hash__`` would run bytecode mid-walk, so then we key by id() instead.
    """
    stack = [type]
    seen = set()
    while stack:
        meta = stack.pop()
        if id(meta) in seen:
            continue
        seen.add(id(meta))
        if meta is not type and "__hash__" in type.__dict__["__dict__"].__get__(meta):
            return False
        stack.extend(type.__subclasses__(meta))
    return True


def _tally(stream_of_lists, bins, key):
    """For each list pulled, appends None to ``bins[key(type(obj))]`` for every obj in it.

    Tallying by appending to a per-type list allocates almost nothing per object (lists
    grow geometrically), where a counter would allocate a new int on every increment
    past 256 — and under tracemalloc each allocation costs about a microsecond.
    """
    keys = map(map, repeat(type), stream_of_lists)
    if key is not None:
        keys = map(map, repeat(key), keys)
    appends = map(map, repeat(list.append), map(map, repeat(bins.__getitem__), keys), repeat(repeat(None)))
    return map(deque, appends, repeat(0))


def census():
    """Counts live objects by type: {type: count}.  About 0.2 us per object.

    Tracked objects are counted over ``gc.get_objects()``, each once.  Untracked ones
    (atomic values, and containers of only atomic values) can only be reached as
    referents, so they are counted per reference: a string held in three places counts
    three times.  That is stable for objects that do not grow and rises with a leak,
    which is what a census is for.  (De-duplicating by id cost 4-5x as much.)
    """
    tracked, untracked = defaultdict(list), defaultdict(list)
    by_type = _types_hash_safely()
    key = None if by_type else id
    _walk(_tally(_heap_lists(), tracked, key))
    _walk(_tally(_untracked_population(), untracked, key))
    padding = untracked.get(type(None) if by_type else id(type(None)))
    if padding is not None:
        del padding[:_PADDING]
    types = {} if by_type else all_types()
    out = {}
    for bins in (tracked, untracked):
        for k, nones in bins.items():
            tp = k if by_type else types.get(k)
            if tp is not None:
                out[tp] = out.get(tp, 0) + len(nones)
    return out


def _traceback_function():
    """How to ask tracemalloc where an instance of a type was allocated, given its id.

    CPython 3.11 forgets the two-pointer pre-header of objects with a managed dict when it
    looks up an object's traceback, so instances of ordinary classes come back untraced.
    There we look the block up by its real start address with the C API instead.
    """
    if sys.version_info[:2] != (3, 11):
        return None
    try:
        import ctypes

        fn = ctypes.pythonapi._PyTraceMalloc_GetTraceback
        fn.restype = ctypes.py_object
        fn.argtypes = [ctypes.c_uint, ctypes.c_size_t]
        return fn
    except Exception:
        return None


_raw_traceback = _traceback_function()


def _objsites_chain(types, raw_lookup, counts, lists=None):
    """Counts the instances of exactly ``types`` among the objects ``lists`` yields (by
    default everything referred to) by allocation site."""
    a, b = _twice(_population_lists() if lists is None else lists)
    if _types_hash_safely():
        wanted = map(map, repeat(frozenset(types).__contains__), map(map, repeat(type), b))
    else:
        ids = frozenset(id(tp) for tp in types)
        wanted = map(map, repeat(ids.__contains__), map(map, repeat(id), map(map, repeat(type), b)))
    # at most _MAX_LOOKED_AT instances: under tracemalloc every allocation below costs a
    # microsecond or more, and a type with a million instances would freeze the target
    selected = _at_most(map(compress, a, wanted), _MAX_LOOKED_AT)
    return _count_sites(selected, raw_lookup, counts)


def _count_sites(selected, raw_lookup, counts):
    """Counts the selected objects by (id(type), allocation traceback), each object once."""
    # de-duplicate: {id: obj} lives only inside the chain.  Padded like the others: the
    # selected objects can be the walk's own iterators (traced_objects() selects whatever
    # was allocated under tracing, and a window's walk is), and a tee buffer holding one
    # of those at the end closed a cycle through the chain: ~250 objects, and the counts,
    # left for the collector after every window (DESIGN.md, Hazards: no cycles).
    s1, s2 = _twice(map(chain, selected, repeat(repeat(None, _PADDING))))
    unique = map(methodcaller("values"), map(dict, map(zip, map(map, repeat(id), s1), s2)))
    objs_a, objs_b = _twice(map(chain, unique, repeat(repeat(None, _PADDING))))
    # the None padding is selected too; its key and traceback are dropped by the caller
    keys = map(map, repeat(id), map(map, repeat(type), objs_a))
    if raw_lookup:
        # block start = object - PyGC_Head (16) - managed-dict pre-header (16)
        starts = map(map, repeat(sub), map(map, repeat(id), objs_b), repeat(repeat(32)))
        tracebacks = map(map, repeat(_raw_traceback), repeat(repeat(0)), starts)
    else:
        tracebacks = map(map, repeat(_get_object_traceback), objs_b)
    return map(_count_elements, repeat(counts), map(zip, keys, tracebacks))


def object_sites(types):
    """Where live instances of exactly these types were allocated.

    Returns {(id(type), raw traceback or None): count}; raw tracebacks are tracemalloc's
    tuples of (filename, lineno), innermost first.
    """
    counts = {}
    if _get_object_traceback is None or not types:
        return counts
    raw = [tp for tp in types if _raw_traceback is not None and tp.__flags__ & _MANAGED_DICT]
    plain = [tp for tp in types if not (_raw_traceback is not None and tp.__flags__ & _MANAGED_DICT)]
    for group, raw_lookup in ((plain, False), (raw, True)):
        if group:
            _walk(_objsites_chain(group, raw_lookup, counts))
    if type(None) not in types:
        for k in [k for k in counts if k[0] == id(type(None))]:
            del counts[k]
    return counts


def traced_objects():
    """Where every live object that tracemalloc traced was allocated.

    Returns {(id(type), raw traceback): count}.  Meant for the end of a tracing window:
    only objects allocated during the window have a traceback, so this is what the
    window's allocations left alive, by type and site.
    """
    counts = {}
    if _get_object_traceback is None:
        return counts
    # One C call per object: the lookup allocates nothing for the (many) untraced objects,
    # so the costly steps in _count_sites see only the window's survivors.  On 3.11 it
    # misses instances with a managed dict (never a wrong answer: their pre-header is
    # inside their block), which the second, smaller walk over tracked objects finds.
    selected = map(filter, repeat(_get_object_traceback), _population_lists())
    _walk(_count_sites(_at_most(selected, _MAX_LOOKED_AT), False, counts))
    managed = frozenset(tp for tp in all_types().values()
                        if _raw_traceback is not None and tp.__flags__ & _MANAGED_DICT)
    if managed:
        # instances with a managed dict are always tracked: the heap list is enough
        _walk(_objsites_chain(managed, True, counts, map(chain, _heap_lists(), repeat(repeat(None, _PADDING)))))
    for key in [k for k in counts if k[1] is None]:
        del counts[key]
    return counts


def all_types():
    """{id(type): type} for every class alive, found through __subclasses__ (types only)."""
    found = {id(object): object}
    stack = [object]
    while stack:
        tp = stack.pop()
        try:
            subs = type.__subclasses__(tp)
        except Exception:
            continue
        for sub_tp in subs:
            if id(sub_tp) not in found:
                found[id(sub_tp)] = sub_tp
                stack.append(sub_tp)
    return found


def type_key(tp):
    """"module.qualname" of a type, read without running the type's own code."""
    module = type.__dict__["__module__"].__get__(tp)
    qualname = type.__dict__["__qualname__"].__get__(tp)
    if not isinstance(module, str):
        module = "?"
    return module + "." + qualname


def type_origin(tp, library_paths):
    """"user" for a class of the program's own code, "library" for a class written in
    Python elsewhere (stdlib, site-packages), "builtin" for one made in C.

    A person names a leak after their own class before a library's, and a library's
    Python class before a C type: the objects that own the others are usually theirs.
    """
    try:
        module_name = type.__dict__["__module__"].__get__(tp)
        if module_name == "__main__":
            return "user"
        module = sys.modules.get(module_name) if isinstance(module_name, str) else None
        path = module.__dict__.get("__file__") if module is not None else None
        if not isinstance(path, str) or not path.endswith(".py"):
            return "builtin"
        path = os.path.realpath(path)
        if any(path.startswith(lib.rstrip("/") + "/") for lib in library_paths):
            return "library"
        return "user"
    except Exception:
        return "builtin"
