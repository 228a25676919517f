"""Do two versions of skcfm give the same numbers? Snapshot the defaults' outputs, compare.

Fits ``CFMCateEstimator(random_state=0)`` (and ``final_stage="auto"`` on IHDP) with the
PAM of unconfoundedness on IHDP realizations 0-9 (train split; effects on the test split),
ACIC 1-2 and PSID samples 0-2 (the tables' split protocol) and stores ``effect`` on the
test rows, ``ate()``, ``ate_interval()`` and ``ate_interval(X_test)``. Run it once per
version (another commit: ``git worktree add /tmp/old <commit>`` and
``PYTHONPATH=/tmp/old python benchmarks/studies/behaviour_snapshot.py --out old.npz``),
then compare:

    python benchmarks/studies/behaviour_snapshot.py --out new.npz [--quick]
    python benchmarks/studies/behaviour_snapshot.py --compare old.npz new.npz

The comparison prints the largest absolute difference per quantity and data set.
``--quick`` takes IHDP 0-2, ACIC 1 and PSID 0.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

DATA_HOME = os.environ.get("SKCFM_DATA", str(Path(__file__).resolve().parents[3] / "shared" / "data"))


def data_sets(quick: bool):
    from skcfm.datasets import load_acic2016, load_ihdp, load_lalonde, train_test_split_protocol

    for r in range(3 if quick else 10):
        train, test = (load_ihdp(r, split=s, data_home=DATA_HOME) for s in ("train", "test"))
        yield f"ihdp{r}", train.data, train.treatment, train.outcome, test.data
    loaders = [("acic", lambda i: load_acic2016(i, data_home=DATA_HOME), [1] if quick else [1, 2]),
               ("psid", lambda i: load_lalonde(i, group="psid", data_home=DATA_HOME), [0] if quick else [0, 1, 2])]
    for name, load, indices in loaders:
        for i in indices:
            bunch = load(i)
            tr, te = train_test_split_protocol(len(bunch.outcome), i)
            X = np.asarray(bunch.data, dtype=float)
            yield f"{name}{i}", X[tr], np.asarray(bunch.treatment)[tr], np.asarray(bunch.outcome)[tr], X[te]


def snapshot(quick: bool) -> dict[str, np.ndarray]:
    from skcfm import CFMCateEstimator, unconfoundedness_pam

    out = {}
    for name, X, T, Y, X_test in data_sets(quick):
        pam = unconfoundedness_pam([f"x{j}" for j in range(X.shape[1])], treatment="T", outcome="Y")
        stages = ["cfm", "auto"] if name.startswith("ihdp") else ["cfm"]
        for stage in stages:
            est = CFMCateEstimator(random_state=0, final_stage=stage).fit(X, T, Y, ancestors=pam)
            key = f"{name}_{stage}"
            out[f"{key}_effect"] = est.effect(X_test)
            out[f"{key}_ate"] = np.array([est.ate()])
            out[f"{key}_ate_interval"] = np.array(est.ate_interval())
            out[f"{key}_ate_interval_X"] = np.array(est.ate_interval(X_test))
            print(key, float(out[f"{key}_ate"][0]), flush=True)
    return out


def compare(old_path: Path, new_path: Path) -> float:
    old, new = np.load(old_path), np.load(new_path)
    worst = 0.0
    for key in sorted(set(old.files) | set(new.files)):
        if key not in old.files or key not in new.files:
            print(f"{key}: only in {'new' if key in new.files else 'old'}")
            continue
        diff = float(np.max(np.abs(old[key] - new[key])))
        worst = max(worst, diff)
        print(f"{key:32s} max |old - new| = {diff:.3g}")
    print(f"largest difference: {worst:.3g}")
    return worst


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--compare", type=Path, nargs=2)
    args = parser.parse_args(argv)
    if args.compare:
        compare(*args.compare)
        return
    if args.out is None:
        sys.exit("pass --out FILE or --compare OLD NEW")
    np.savez(args.out, **snapshot(args.quick))


if __name__ == "__main__":
    main()
