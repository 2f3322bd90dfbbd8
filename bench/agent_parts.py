"""What each part of the agent costs the request loop, measured in one process.

    python3 bench/agent_parts.py [--requests 1000000] [--rounds 3]

bench/run.py times whole commands, where a 2-core machine's noise (other processes, the
CLI, a walking copy) is as large as the effect.  Here one process runs the loop of
bench/workload_json_loop.py (LEAK=1) plain, then with the agent started (to a socket
served by a thread of this process) and detached again, alternating, `--rounds` times per
configuration; each configuration's ratio is the sum of its loops over the sum of the plain
loops measured between them.  Configurations: the agent without tracemalloc (samples,
census), tracing windows only, and the default `auto` — each with and without heap graphs.
"""
import argparse
import os
import socket
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "python"))
sys.path.insert(0, HERE)
os.environ["LEAK"] = "1"

from leaktrail import agent  # noqa: E402
import workload_json_loop as workload  # noqa: E402

CONFIGS = (
    ("no tracemalloc, no graphs", dict(frames=0, trace="windows", graphs="off")),
    ("windows, no graphs", dict(trace="windows", graphs="off")),
    ("windows, graphs", dict(trace="windows", graphs="auto")),
    ("auto (default), no graphs", dict(trace="auto", graphs="off")),
    ("auto (default), graphs", dict(trace="auto", graphs="auto")),
)


def drain(path):
    """Accepts the agent's connections and reads what they send, keeping nothing.

    In a child process, as the CLI would be: a reader thread in this process would take
    the GIL for every record and add its own cost to the agent's.
    """
    if os.fork() != 0:
        while not os.path.exists(path):
            time.sleep(0.01)
        return
    try:
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(path)
        server.listen(16)

        def read(conn):
            with conn:
                while conn.recv(1 << 16):
                    pass

        while os.getppid() != 1:
            server.settimeout(1.0)
            try:
                conn, _ = server.accept()
            except socket.timeout:
                continue
            threading.Thread(target=read, args=(conn,), daemon=True).start()
    finally:
        os._exit(0)


def loop(requests):
    started = time.perf_counter()
    for i in range(requests):
        workload.handle(i)
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    path = os.path.join(tempfile.mkdtemp(prefix="lt-parts-"), "s")
    drain(path)
    print("Agent parts — %s, Python %s, %d requests a loop, %d rounds; ratio = sum of loops with the agent / sum of plain loops between them"
          % (time.strftime("%Y-%m-%d"), sys.version.split()[0], args.requests, args.rounds))
    print()
    print("| configuration | plain loops s | with the agent s | ratio |")
    print("|---|---|---|---:|")
    for name, options in CONFIGS:
        plain, measured = [], []
        for _ in range(args.rounds):
            plain.append(loop(args.requests))
            agent.start(path, **options)
            measured.append(loop(args.requests))
            agent.detach()
        print("| %s | %s | %s | %.2fx |" % (name, " ".join("%.2f" % x for x in plain),
                                            " ".join("%.2f" % x for x in measured), sum(measured) / sum(plain)),
              flush=True)


if __name__ == "__main__":
    main()
