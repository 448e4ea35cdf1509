"""`make bench`: run every benchmark module in bench/ (each has main()), or the ones named.
Benchmarks print ratios measured in one run against a baseline; main() returns the targets it
missed, and the run exits non-zero if any was missed. The run ends with one line per module."""
import importlib
import pkgutil
import sys
import time

import bench


def main(names):
    modules = names or sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if not m.name.startswith("_"))
    missed, summary = [], []
    for name in modules:
        print(f"== bench.{name}", flush=True)
        started = time.monotonic()
        module_missed = importlib.import_module(f"bench.{name}").main()
        missed += module_missed
        summary.append(f"bench.{name}: {'MISSED ' + str(len(module_missed)) if module_missed else 'met'} "
                       f"({time.monotonic() - started:.0f} s)")
    print("== summary", flush=True)
    for line in summary:
        print(line, flush=True)
    for target in missed:
        print(f"TARGET MISSED: {target}", flush=True)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
