"""Loaded by every Python process that `leaktrail run` starts (its folder is put first on
PYTHONPATH).  Starts the agent, then runs the user's own sitecustomize, if any, exactly as
Python would have without us."""


def _start_leaktrail():
    try:
        from leaktrail.agent import start_from_environment

        start_from_environment()
    except Exception:
        pass  # the target must run whatever happens to the agent


def _start_leaktrail_profiling():
    # `leaktrail profile` and `leaktrail lines` (LEAKTRAIL_PROFILE / LEAKTRAIL_LINES): separate
    # from the leak agent, so that either runs without the other.
    import os

    if os.environ.get("LEAKTRAIL_PROFILE"):
        try:
            from leaktrail.stack_sampler import start_from_environment

            start_from_environment()
        except Exception:
            pass
    if os.environ.get("LEAKTRAIL_LINES"):
        try:
            from leaktrail.lines import start_from_environment

            start_from_environment()
        except Exception:
            pass


def _chain_user_sitecustomize():
    import importlib
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    saved_path = list(sys.path)
    ours = sys.modules.pop("sitecustomize", None)
    try:
        sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
        try:
            importlib.import_module("sitecustomize")
        except ImportError as exc:
            if exc.name != "sitecustomize":
                raise
    finally:
        sys.path[:] = saved_path
        theirs = sys.modules.get("sitecustomize")
        if theirs is None and ours is not None:
            sys.modules["sitecustomize"] = ours


_start_leaktrail()
_start_leaktrail_profiling()
_chain_user_sitecustomize()
