"""Run the benchmarks: ``python -m bench.run`` runs all of them, ``python -m bench.run NAME`` one.

A benchmark is a module ``bench/bench_<name>.py`` with a ``run() -> list[str]`` that returns its
result lines (``bench: <figure> ...``, one figure per line). Modules are discovered by file name,
so adding a benchmark needs no registration.
"""

import argparse
import importlib
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PREFIX = "bench_"


def available() -> dict[str, str]:
    """Benchmark name → module name, in name order."""
    return {path.stem.removeprefix(PREFIX): f"bench.{path.stem}" for path in sorted(BENCH_DIR.glob(f"{PREFIX}*.py"))}


def main(argv: list[str] | None = None) -> int:
    benchmarks = available()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help="one of: " + ", ".join(benchmarks))
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(benchmarks))
        return 0
    unknown = [name for name in args.names if name not in benchmarks]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; available: {', '.join(benchmarks)}")
    for name in args.names or list(benchmarks):
        started = time.perf_counter()
        print(f"# running {name} …", file=sys.stderr, flush=True)
        for line in importlib.import_module(benchmarks[name]).run():
            print(line, flush=True)
        print(f"# {name} finished in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
