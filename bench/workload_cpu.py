"""CPU-bound workload for the profiler benchmark: recursion, string and dict work in pure
Python, no I/O. usage: workload_cpu.py [ROUNDS] (default 120, ~3 s on the bench machine)."""
import sys


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def words(n):
    counts = {}
    for i in range(n):
        w = "w%d" % (i % 997)
        counts[w] = counts.get(w, 0) + 1
    return len(counts)


def sort_rows(n):
    rows = [((i * 7919) % 10007, str(i)) for i in range(n)]
    rows.sort()
    return rows[0][0]


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 120
    total = 0
    for _ in range(rounds):
        total += fib(20) + words(20_000) + sort_rows(20_000)
    print(total)


if __name__ == "__main__":
    main()
