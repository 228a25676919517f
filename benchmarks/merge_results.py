"""Replace methods' rows in the committed results with those of a fresh run.

Usage, from the repository root::

    python benchmarks/run.py --datasets ihdp --methods skcfm_cfm --out /tmp/rerun
    python benchmarks/merge_results.py /tmp/rerun            # into benchmarks/results
    python benchmarks/report.py

For every ``<dataset>.csv`` in the source folder and every method in it, the method's full
(non ``--quick``) rows replace the destination's rows of that data set and method, but only
when the source holds every realization of the protocol: a half-finished rerun never
leaves a table that mixes two models. Incomplete pairs are listed and left alone.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.append(str(HERE))

from run import DATASETS, FIELDS  # noqa: E402


def _read(path: Path) -> pd.DataFrame:
    """A results CSV as text, so the rows not replaced are written back unchanged."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def merge(source: Path, into: Path) -> tuple[list[tuple[str, str]], list[tuple[str, str, int]]]:
    """Merge ``source``'s complete (dataset, method) pairs into ``into``.

    Returns the pairs replaced and the incomplete pairs skipped (with their row count).
    """
    replaced, skipped = [], []
    for path in sorted(source.glob("*.csv")):
        dataset = path.stem
        if dataset not in DATASETS:
            continue
        fresh = _read(path)
        fresh = fresh[fresh["quick"] == "0"]
        protocol = {str(i) for i in DATASETS[dataset][0]}
        complete = []
        for method, rows in fresh.groupby("method", sort=True):
            if set(rows["realization"]) == protocol and len(rows) == len(protocol):
                complete.append(method)
            else:
                skipped.append((dataset, method, len(rows)))
        if not complete:
            continue
        target = into / path.name
        kept = _read(target) if target.exists() else pd.DataFrame(columns=FIELDS)
        kept = kept[~((kept["method"].isin(complete)) & (kept["quick"] == "0"))]
        merged = pd.concat([kept, fresh[fresh["method"].isin(complete)]], ignore_index=True)
        merged[FIELDS].to_csv(target, index=False)
        replaced += [(dataset, method) for method in complete]
    return replaced, skipped


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Replace methods' rows with a complete rerun's.")
    parser.add_argument("source", type=Path, help="folder of a run.py --out")
    parser.add_argument("--into", type=Path, default=HERE / "results",
                        help="results folder to update (default: %(default)s)")
    args = parser.parse_args(argv)
    if not args.source.is_dir():
        parser.error(f"source must be a folder of run.py CSVs; got {args.source}")
    replaced, skipped = merge(args.source, args.into)
    for dataset, method in replaced:
        print(f"replaced {dataset} {method}")
    for dataset, method, n in skipped:
        print(f"skipped {dataset} {method}: {n} of {len(DATASETS[dataset][0])} realizations", file=sys.stderr)
    return 0 if replaced or not skipped else 1


if __name__ == "__main__":
    sys.exit(main())
