"""Memory and speed benchmark of the synthetic partner-file generator.

Runs `aiguillage.synth.generate` in this process (no subprocess) into a temporary landing zone and
prints households, files, bytes, seconds, households/s and the peak RSS of the process. Exits with
status 1 if the peak RSS reaches the budget (300 MB by default).

    python bench/bench_synth_memory.py --households 200000 --days 3
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from aiguillage.synth import generate

BUDGET_MB = 300.0


def peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux (bytes on macOS).
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--households", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--seed", type=int, default=93)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 11, 26))
    parser.add_argument("--defects", action="store_true")
    parser.add_argument(
        "--landing", type=Path, default=None, help="keep the files there (default: a temp dir)"
    )
    parser.add_argument("--budget-mb", type=float, default=BUDGET_MB)
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)

    def progress(message: str) -> None:
        if not args.quiet:
            print(f"  [{time.perf_counter() - started:7.1f}s] {message}", flush=True)

    with tempfile.TemporaryDirectory(prefix="aiguillage-bench-") as scratch:
        landing = args.landing if args.landing is not None else Path(scratch)
        started = time.perf_counter()
        summary = generate(landing, args.start, args.households, args.days, args.seed, args.defects, progress)
        seconds = time.perf_counter() - started
    peak = peak_rss_mb()
    print(
        f"households     {args.households:,} (+{summary.households - args.households:,} created by movements)"
    )
    print(f"persons        {summary.persons:,}")
    print(f"days           {args.days}")
    print(f"files          {len(summary.files)}")
    print(f"bytes          {summary.bytes_written:,}")
    print(f"seconds        {seconds:.1f}")
    print(f"households/s   {args.households / seconds:,.0f}")
    print(f"peak RSS       {peak:.1f} MB (budget {args.budget_mb:.0f} MB)")
    if peak >= args.budget_mb:
        print("FAIL: peak RSS over budget", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
