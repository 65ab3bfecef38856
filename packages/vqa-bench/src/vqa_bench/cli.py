"""`bench`: compare vqa-zoo methods on identical splits."""

import sys


def main(argv: list[str] | None = None) -> int:
    print("bench: the benchmark runner is not implemented yet (see the vqa-bench issue).", file=sys.stderr)
    return 2
