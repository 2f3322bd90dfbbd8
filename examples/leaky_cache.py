"""A tiny web-ish service that memoises every rendered page forever: a classic leak.

Try it:  ./bin/leaktrail run -- python3 examples/leaky_cache.py
"""
import json
import time

_PAGES = {}


def render(page_id: int) -> bytes:
    page = _PAGES.get(page_id)
    if page is None:
        page = json.dumps({"id": page_id, "rows": list(range(50))}).encode() * 20
        _PAGES[page_id] = page  # never evicted
    return page


def main() -> None:
    served = 0
    for request in range(600):
        served += len(render(request))
        time.sleep(0.01)
    print(f"served {served} bytes")


if __name__ == "__main__":
    main()
