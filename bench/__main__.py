"""`make bench`: run every benchmark module in bench/ (each has main()), or the ones named.
Benchmarks print ratios measured in one run against a baseline; main() returns the targets it
missed, and the run exits non-zero if any was missed."""
import importlib
import pkgutil
import sys

import bench


def main(names):
    modules = names or sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if not m.name.startswith("_"))
    missed = []
    for name in modules:
        print(f"== bench.{name}", flush=True)
        missed += importlib.import_module(f"bench.{name}").main()
    for target in missed:
        print(f"TARGET MISSED: {target}", flush=True)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
