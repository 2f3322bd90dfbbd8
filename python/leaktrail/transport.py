"""Ships records to the CLI as JSON lines over a Unix socket.

If the CLI goes away (killed, stopped, its socket gone), sending fails once, the
transport marks itself closed and every later send is a no-op: the target carries on.
"""
import json
import socket
import threading


class Transport:
    def __init__(self, path, timeout=5.0):
        self._lock = threading.Lock()
        self._sock = None
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(path)
        except OSError:
            sock.close()
            raise
        self._sock = sock

    @property
    def closed(self):
        return self._sock is None

    def send(self, record, lock_timeout=5.0):
        """Sends one record; returns False when the CLI is gone."""
        if self._sock is None:
            return False
        data = (json.dumps(record, separators=(",", ":")) + "\n").encode("utf-8", "replace")
        if not self._lock.acquire(timeout=lock_timeout):
            return False
        try:
            if self._sock is None:
                return False
            self._sock.sendall(data)
            return True
        except OSError:
            self._close_locked()
            return False
        finally:
            self._lock.release()

    def _close_locked(self):
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    def close(self, timeout=5.0):
        """Closes the socket; never blocks for long, even if a send is stuck."""
        if self._lock.acquire(timeout=timeout):
            try:
                self._close_locked()
            finally:
                self._lock.release()
        else:
            sock, self._sock = self._sock, None
            if sock is not None:
                try:
                    sock.shutdown(2)
                except OSError:
                    pass

    def block(self):
        """Makes sends wait as long as it takes (a timeout makes the socket non-blocking)."""
        if self._sock is not None:
            self._sock.settimeout(None)

    def fileno(self):
        return self._sock.fileno() if self._sock is not None else -1

    def release(self):
        """Closes our descriptor without shutting the connection down: a forked copy that
        holds the same connection goes on using it."""
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    def abandon(self):
        """In a forked child: drop the parent's connection without touching its lock or peer."""
        sock, self._sock = self._sock, None
        self._lock = threading.Lock()
        if sock is not None:
            try:
                sock.detach()
            except OSError:
                pass
