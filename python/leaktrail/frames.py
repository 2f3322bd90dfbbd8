"""Turns tracemalloc's (filename, lineno) frames into (file, line, function) and interns them.

tracemalloc records no function names; we find the innermost ``def`` (or ``class``)
enclosing each line by parsing the file once with ``ast``.  Results are cached per file.
"""
import ast
import linecache


class FunctionFinder:
    def __init__(self):
        self._by_file = {}

    def _spans(self, filename):
        spans = self._by_file.get(filename)
        if spans is None:
            spans = []
            try:
                source = "".join(linecache.getlines(filename))
                if source:
                    for node in ast.walk(ast.parse(source, filename)):
                        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                            end = getattr(node, "end_lineno", None) or node.lineno
                            spans.append((node.lineno, end, node.name))
                spans.sort(key=lambda s: s[1] - s[0])  # innermost (shortest) first
            except (SyntaxError, ValueError, OSError, RecursionError, MemoryError):
                spans = []
            self._by_file[filename] = spans
        return spans

    def function_at(self, filename, line):
        for start, end, name in self._spans(filename):
            if start <= line <= end:
                return name
        return "<module>"


class TracebackTable:
    """Gives each distinct raw traceback a small id, and says which ids are new."""

    def __init__(self, pid):
        self.pid = pid
        self._ids = {}
        self._finder = FunctionFinder()

    def intern(self, raw, out):
        """Id of a raw traceback; appends a "tb" record to ``out`` the first time."""
        tb_id = self._ids.get(raw)
        if tb_id is None:
            tb_id = len(self._ids) + 1
            self._ids[raw] = tb_id
            out.append({
                "k": "tb",
                "pid": self.pid,
                "id": tb_id,
                "frames": [[f, n, self._finder.function_at(f, n)] for f, n in raw],
            })
        return tb_id
