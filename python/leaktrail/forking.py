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
import os
import signal
import sys
import time

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
        # threads waiting with the old, shorter interval time out and re-arm with this one
        time.sleep(min(before, _QUIET_SWITCH_INTERVAL) + 0.001)
        time.sleep(0)  # give the GIL away and take it back: no hand-over is asked for now
        started = time.perf_counter()
        pid = lib.fork()
        paused = time.perf_counter() - started
    finally:
        if pid != 0:
            sys.setswitchinterval(before)
    if pid == 0:
        sys.setswitchinterval(before)
    return (pid, paused) if timed else pid


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
