"""A fork for the agent's walks in a copy of the process (garbage.py, heapgraph.py).

libc's ``fork()`` through ``ctypes.PyDLL`` keeps the GIL held across the call and runs
none of the target's at-fork hooks (``os.fork()`` would, and on 3.12+ prints a
DeprecationWarning into the target's stderr when threads exist).  The price: CPython is
not told that it forked, so the copy keeps the GIL's state as it was.  If another thread
had asked for the GIL at that moment, the copy's first bytecode tries to hand the GIL
over — to a thread that does not exist in the copy — and waits forever.

So the fork happens just after this thread took the GIL afresh (taking it clears any
request to hand it over), with a switch interval long enough that no waiting thread asks
again before the fork is done; the interval is restored right after.  As a last guard,
the caller reaps the child with a deadline and kills it if it hangs.  And the copy
must never release the GIL itself (no os.write, no socket calls, no imports, no zlib):
another thread may have held the GIL's own mutex at the fork, and it stays held there.
"""
import gc
import os
import signal
import sys
import time

try:
    import resource  # imported here: the copy must never import
except ImportError:  # not on every platform
    resource = None

_libc = None
_ctypes = None
_QUIET_SWITCH_INTERVAL = 0.05  # seconds: far longer than a fork, short enough to go unnoticed


def libc():
    global _libc, _ctypes
    if _libc is None:
        import ctypes

        _ctypes = ctypes
        lib = ctypes.PyDLL(None)  # PyDLL: the GIL stays held across the calls
        lib.fork.restype = ctypes.c_int
        lib.fork.argtypes = []
        lib.signal.restype = ctypes.c_void_p
        lib.signal.argtypes = [ctypes.c_int, ctypes.c_void_p]
        lib.write.restype = ctypes.c_ssize_t
        lib.write.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
        lib.open.restype = ctypes.c_int
        lib.open.argtypes = [ctypes.c_char_p, ctypes.c_int]
        lib.dup2.restype = ctypes.c_int
        lib.dup2.argtypes = [ctypes.c_int, ctypes.c_int]
        lib.close.restype = ctypes.c_int
        lib.close.argtypes = [ctypes.c_int]
        close_range = getattr(lib, "close_range", None)  # glibc 2.34+, Linux 5.9+
        if close_range is not None:
            close_range.restype = ctypes.c_int
            close_range.argtypes = [ctypes.c_uint, ctypes.c_uint, ctypes.c_int]
        _libc = lib
    return _libc


def fork(timed=False):
    """Forks; returns what fork() returns (0 in the child, -1 on failure), and with
    ``timed`` also the seconds the fork itself took: the time the process was paused."""
    lib = libc()
    before = sys.getswitchinterval()
    sys.setswitchinterval(max(before, _QUIET_SWITCH_INTERVAL))
    pid = -1
    try:
        # Threads waiting with the old, shorter interval time out and re-arm with this one.
        # Taking the GIL back after the sleep is taking it afresh: no hand-over is asked for
        # now, and none will be before the new interval has passed.
        time.sleep(min(before, _QUIET_SWITCH_INTERVAL) + 0.001)
        started = time.perf_counter()
        pid = lib.fork()
        paused = time.perf_counter() - started
    finally:
        if pid != 0:
            sys.setswitchinterval(before)
    if pid == 0:
        sys.setswitchinterval(before)
    return (pid, paused) if timed else pid


def become_walker(fd, timeout, announce=False):
    """In a copy just forked (fork() above): become the grandchild that walks, alone.

    The child forks again and exits at once, so that its parent reaps it in milliseconds
    and no process of ours is left for the target (or a detach) to wait for; the
    grandchild keeps only ``fd``, runs at the lowest priority with tracemalloc's hooks off
    its allocators, and is ended by SIGALRM after ``timeout`` seconds whatever state it is
    in.  With ``announce``, its first line on ``fd`` is its pid, written before it lowers
    its priority (a copy waiting for idle CPU could not write it): the agent needs it to
    raise that priority when the program ends and waits for the copy (windowcopy.Survey).
    Never releases the GIL (libc's calls).
    """
    lib = libc()
    gc.disable()  # a collection would run the target's finalizers here
    if lib.fork() != 0:  # one thread here: a plain fork is safe
        os._exit(0)
    keep_only(fd)
    if announce:
        write_all(fd, b"%d\n" % lib.getpid())
    lowest_priority()
    untrace_copy()  # the walk allocates: untraced, it runs several times faster
    lib.signal(signal.SIGALRM, 0)  # SIG_DFL in C: a Python handler could never run here
    signal.alarm(timeout)


def reap(pid, timeout):
    """Waits for a child for at most ``timeout`` seconds, then kills it; never raises."""
    deadline = time.monotonic() + timeout
    try:
        while True:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                return True
            if time.monotonic() >= deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return False
            time.sleep(0.002)
    except OSError:
        return False


def keep_only(fd):
    """In a copy: closes every descriptor but ``fd`` and points 0, 1 and 2 at /dev/null.

    A copy otherwise holds the target's pipes, sockets and files open while it walks: a
    reader of the target's output would wait for the copy's end of the pipe, a peer would
    not see a connection close, and a CLI in the same process (tests) would keep its own
    end of the copy's connection open, so the copy's write could wait for good.
    With libc's calls: os.closerange releases the GIL.
    """
    lib = libc()
    null = lib.open(b"/dev/null", os.O_RDWR)
    if null >= 0:
        for std in (0, 1, 2):
            if std != fd:
                lib.dup2(null, std)
    _close_from_to(3, fd - 1)
    _close_from_to(max(fd + 1, 3), 0xFFFFFFFF)


def _close_from_to(first, last):
    if first > last:
        return
    lib = libc()
    close_range = getattr(lib, "close_range", None)  # typed in libc(), where it exists
    if close_range is not None and close_range(first, last, 0) == 0:
        return
    try:
        limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except Exception:
        limit = 1 << 16
    if limit < 0 or limit > (1 << 16):
        limit = 1 << 16
    for candidate in range(first, min(last, limit - 1) + 1):
        lib.close(candidate)


_SCHED_IDLE = 5  # Linux: runs only when no other thread wants the CPU


def lowest_priority():
    """In a copy: let the target (and everything else) have the CPU first.

    On a machine with cores to spare the walk runs at full speed; on a busy one it waits
    instead of slowing the program it copies (or its sibling workers).  libc's calls: no
    GIL released.
    """
    lib = libc()
    try:
        lib.setpriority(0, 0, 19)  # PRIO_PROCESS, this process, nice 19
        param = _ctypes.c_int(0)
        lib.sched_setscheduler(0, _SCHED_IDLE, _ctypes.byref(param))
    except Exception:
        pass


_untraced_allocators = None  # the allocators as they were before tracemalloc wrapped them


def remember_untraced_allocators():
    """Notes the three allocator domains while tracemalloc does not wrap them (call it
    before tracemalloc.start); untrace_copy() puts them back in a copy."""
    global _untraced_allocators
    if _untraced_allocators is not None:
        return
    try:
        import tracemalloc

        if tracemalloc.is_tracing():
            return
        get = _allocator_calls()[0]
        found = []
        for domain in (0, 1, 2):  # PYMEM_DOMAIN_RAW, _MEM, _OBJ
            allocator = _Allocator()
            get(domain, _ctypes.byref(allocator))
            found.append(allocator)
        _untraced_allocators = found
    except Exception:
        _untraced_allocators = None


def untrace_copy():
    """In a copy: allocations stop going through tracemalloc's hooks; its traces stay.

    A walk allocates a great deal, and traced allocations cost 10-30x.  tracemalloc wraps
    each domain's allocator with a hook whose context is a copy of the allocator it wrapped;
    where that copy is exactly what remember_untraced_allocators() saw, it goes back in.
    Anything else (another tool's hooks on top) is left alone.  Returns True if done.
    """
    if not _untraced_allocators:
        return False
    get, put = _allocator_calls()
    for domain in (0, 1, 2):
        allocator = _Allocator()
        get(domain, _ctypes.byref(allocator))
        if not allocator.ctx:
            return False
        wrapped = _Allocator.from_address(allocator.ctx)
        if _fields(wrapped) != _fields(_untraced_allocators[domain]):
            return False
    for domain in (0, 1, 2):
        put(domain, _ctypes.byref(_untraced_allocators[domain]))
    return True


_Allocator = None
_calls = None


def _allocator_calls():
    global _Allocator, _calls
    if _calls is None:
        libc()
        ctypes = _ctypes

        class Allocator(ctypes.Structure):  # PyMemAllocatorEx
            _fields_ = [("ctx", ctypes.c_void_p), ("malloc", ctypes.c_void_p), ("calloc", ctypes.c_void_p),
                        ("realloc", ctypes.c_void_p), ("free", ctypes.c_void_p)]

        _Allocator = Allocator
        get = ctypes.pythonapi.PyMem_GetAllocator
        get.restype = None
        get.argtypes = [ctypes.c_int, ctypes.POINTER(Allocator)]
        put = ctypes.pythonapi.PyMem_SetAllocator
        put.restype = None
        put.argtypes = [ctypes.c_int, ctypes.POINTER(Allocator)]
        _calls = (get, put)
    return _calls


def _fields(allocator):
    return (allocator.ctx, allocator.malloc, allocator.calloc, allocator.realloc, allocator.free)


def peak_rss():
    """This process's peak resident size in bytes, or None (no import: safe in a copy)."""
    try:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
    except Exception:
        return None


def write_all(fd, data):
    """Writes all of ``data`` with libc's write(), keeping the GIL: in the copy, releasing
    the GIL (as os.write does) can wait forever for a thread that is not there."""
    lib = libc()
    base = _ctypes.cast(_ctypes.c_char_p(data), _ctypes.c_void_p).value
    done = 0
    while done < len(data):
        n = lib.write(fd, base + done, len(data) - done)
        if n <= 0:
            raise OSError("write failed")
        done += n
