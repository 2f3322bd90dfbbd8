"""Interns tracemalloc tracebacks: each distinct one gets a small id, sent once.

Function names are not looked up here: tracemalloc records only (filename, lineno), and
finding the enclosing ``def`` means reading source files, which the CLI does instead,
outside the target, before it writes the capture.
"""


class TracebackTable:
    """Gives each distinct raw traceback a small id, and says which ids are new.

    Keyed by the traceback's hash, not the traceback itself, so the agent keeps two
    ints per traceback rather than a tuple per frame.
    """

    def __init__(self, pid):
        self.pid = pid
        self._ids = {}

    def known(self, raw):
        return self._ids.get(hash(raw))

    def intern(self, raw, out):
        """Id of a raw traceback; appends a "tb" record to ``out`` the first time."""
        key = hash(raw)
        tb_id = self._ids.get(key)
        if tb_id is None:
            tb_id = len(self._ids) + 1
            self._ids[key] = tb_id
            out.append({"k": "tb", "pid": self.pid, "id": tb_id, "frames": [[f, n] for f, n in raw]})
        return tb_id

    def end_batch(self):
        """Kept for the callers' symmetry; nothing is cached per batch any more."""
