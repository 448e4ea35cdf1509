"""`make bench`: run every benchmark module in bench/ (each has main()), or the ones named.
Benchmarks print ratios measured in one run against a baseline; they never fail the build."""
import importlib
import pkgutil
import sys

import bench


def main(names):
    modules = names or sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if not m.name.startswith("_"))
    for name in modules:
        print(f"== bench.{name}", flush=True)
        importlib.import_module(f"bench.{name}").main()


if __name__ == "__main__":
    main(sys.argv[1:])
