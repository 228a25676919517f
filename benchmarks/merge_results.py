"""Replace methods' rows in the committed results with those of a fresh run.

Usage, from the repository root::

    python benchmarks/run.py --datasets ihdp --methods skcfm_cfm --out /tmp/rerun
    python benchmarks/merge_results.py /tmp/rerun            # into benchmarks/results
    python benchmarks/merge_results.py /tmp/shard0 /tmp/shard1   # the --shard K/N folders of one rerun
    python benchmarks/report.py

For every ``<dataset>.csv`` in the source folders and every method in them, the method's
full (non ``--quick``) rows replace the destination's rows of that data set and method, but
only when the sources together hold every realization of the protocol: a half-finished
rerun never leaves a partial table. A (realization, method) found in several sources is
taken from the first. Incomplete pairs are listed and left alone.
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


def merge(sources: Path | list[Path], into: Path) -> tuple[list[tuple[str, str]], list[tuple[str, str, int]]]:
    """Merge the complete (dataset, method) pairs of ``sources`` (one folder, or the shard
    folders of one rerun) into ``into``.

    Returns the pairs replaced and the incomplete pairs skipped (with their row count).
    """
    sources = [sources] if isinstance(sources, Path) else list(sources)
    replaced, skipped = [], []
    for name in sorted({path.name for source in sources for path in source.glob("*.csv")}):
        dataset = Path(name).stem
        if dataset not in DATASETS:
            continue
        fresh = pd.concat([_read(source / name) for source in sources if (source / name).exists()], ignore_index=True)
        fresh = fresh[fresh["quick"] == "0"].drop_duplicates(["realization", "method"])
        protocol = {str(i) for i in DATASETS[dataset][0]}
        complete = []
        for method, rows in fresh.groupby("method", sort=True):
            if set(rows["realization"]) == protocol and len(rows) == len(protocol):
                complete.append(method)
            else:
                skipped.append((dataset, method, len(rows)))
        if not complete:
            continue
        target = into / name
        kept = _read(target) if target.exists() else pd.DataFrame(columns=FIELDS)
        kept = kept[~((kept["method"].isin(complete)) & (kept["quick"] == "0"))]
        merged = pd.concat([kept, fresh[fresh["method"].isin(complete)]], ignore_index=True)
        merged[FIELDS].to_csv(target, index=False)
        replaced += [(dataset, method) for method in complete]
    return replaced, skipped


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Replace methods' rows with a complete rerun's.")
    parser.add_argument("source", type=Path, nargs="+", help="folder(s) of a run.py --out: one rerun, or its shards")
    parser.add_argument("--into", type=Path, default=HERE / "results",
                        help="results folder to update (default: %(default)s)")
    args = parser.parse_args(argv)
    for source in args.source:
        if not source.is_dir():
            parser.error(f"source must be a folder of run.py CSVs; got {source}")
    replaced, skipped = merge(args.source, args.into)
    for dataset, method in replaced:
        print(f"replaced {dataset} {method}")
    for dataset, method, n in skipped:
        print(f"skipped {dataset} {method}: {n} of {len(DATASETS[dataset][0])} realizations", file=sys.stderr)
    return 0 if replaced or not skipped else 1


if __name__ == "__main__":
    sys.exit(main())
