"""``python -m refimpl [OP]``: the oracle's command-line adapter.

Reads JSON lines on stdin and writes one JSON line per input line to
stdout, flushing each, so another implementation can drive it as a
coprocess. With OP, every line is a request for that operation; without,
each request names its own in ``"op"``. ``--list`` prints the operations.
All the work is in :mod:`refimpl.oracle`; this module only does the I/O.
"""

from __future__ import annotations

import sys

from .oracle import OPERATIONS, run_line

USAGE = "usage: python -m refimpl [--list | OP] < requests.jsonl"


def main(argv: list[str]) -> int:
    if argv in (["-h"], ["--help"]):
        print(USAGE)
        return 0
    if argv == ["--list"]:
        width = max(map(len, OPERATIONS))
        for name, operation in OPERATIONS.items():
            print(f"{name:<{width}}  {operation.summary}")
        return 0
    if len(argv) > 1 or (argv and argv[0] not in OPERATIONS):
        print(f"{USAGE}\nunknown operation {' '.join(argv)!r}; try --list", file=sys.stderr)
        return 2
    op = argv[0] if argv else None
    try:
        for line in sys.stdin.buffer:
            sys.stdout.write(run_line(op, line.rstrip(b"\r\n")) + "\n")
            sys.stdout.flush()
    except BrokenPipeError:
        # The reader left (``... | head -1``): that ends the session, quietly.
        # Closing stdout here, where the flush error is caught, leaves the
        # interpreter nothing to flush (and fail on) at exit.
        try:
            sys.stdout.close()
        except BrokenPipeError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
