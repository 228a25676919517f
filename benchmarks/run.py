"""Run the benchmark grid: data sets x realizations x methods, one CSV row per fit.

Usage, from the repository root::

    python benchmarks/run.py                                    # the whole grid
    python benchmarks/run.py --datasets ihdp acic --methods t_learner x_learner
    python benchmarks/run.py --datasets ihdp --quick            # smoke run, < 1 minute
    python benchmarks/report.py                                 # tables and plots

Protocol, the same splits and metric code for every method:

- ihdp: realizations 0-99 of IHDP-100; fit on the realization's 672 training rows,
  evaluate on its 75 test rows (the published train/test files).
- acic: ACIC 2016 realizations 1-10; cps, psid: RealCause LaLonde samples 0-49. For
  realization i the rows are permuted with ``np.random.default_rng(42 + i)``; the first
  90% train, the last 10% test (``skcfm.datasets.train_test_split_protocol``).
- psid_balanced: PSID sample i reduced to all treated rows plus 500 control rows drawn
  with ``np.random.default_rng(42 + i)`` (the seed paper's appendix F.3), then split as
  above with a fresh ``default_rng(42 + i)``.

Each method gets ``random_state=i``. Metrics on the test rows: sqrt(PEHE), the absolute
and relative error of the ATE over the test rows, whether the method's 95% ATE interval
covers the true test ATE, and the fit+predict wall time. Methods with an overlap-weighted
ATE (skcfm's hybrid methods, ``ate(estimand="overlap")``) also fill ``overlap_hat``,
``overlap_lo``, ``overlap_hi`` and ``overlap_covered``, scored against ``overlap_true`` =
sum(w ite) / sum(w) over the *training* rows, where that estimand is stated, with the
estimator's own weights w = e (1 - e) of its cross-fitted propensity and the data's ``ite``;
these columns are empty for the other methods. A CSV that lacks these columns is
rewritten with them empty when run.py next appends to it. skcfm's methods also record
the final stage in use (``final_stage_``, which ``final_stage="auto"`` chooses per fit)
and the weights they loaded: their training step and the first 12 hex digits of their
sha256, from the model card (``SKCFM_BENCH_MODEL``, else the shipped model). These
columns are empty for the baselines and for rows recorded without them; a run
whose skcfm methods have rows of other weights in its CSVs stops before fitting, so no
table mixes two models (archive the old rows first, see docs/benchmarks.md). Every finished
(realization, method) is appended at once to ``<out>/<dataset>.csv`` and skipped when the
command is run again, so a stopped run resumes where it was; delete rows (or the file) to
redo them. Quick rows (``--quick``: 2 realizations, small forests) are cached separately from full
ones. Fits run on one core each; to use more cores, run data sets in separate processes
(each writes its own CSV), or split one data set's realizations with ``--shard K/N``
(process K of N takes every N-th realization, starting at the K-th) and separate
``--out`` folders, then combine them with ``merge_results.py``.

Methods come from ``_baselines.METHODS``; ``benchmarks/_skcfm_methods.py``, when present,
registers more with ``_baselines.register``.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

sys.path.append(str(HERE))
# Benchmark the checkout's skcfm, installed or not.
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from _baselines import METHODS  # noqa: E402
from _metrics import ate_errors, covers, pehe  # noqa: E402
from sklearn.utils import Bunch  # noqa: E402

from skcfm._config import progress_bar  # noqa: E402
from skcfm.datasets import (  # noqa: E402
    load_acic2016,
    load_ihdp,
    load_lalonde,
    train_test_split_protocol,
)
from skcfm.pretrained import model_card  # noqa: E402

try:
    import _skcfm_methods  # noqa: E402, F401  (registers the skcfm methods)
except ModuleNotFoundError as exc:
    if exc.name != "_skcfm_methods":
        raise

FIELDS = [
    "dataset", "realization", "method", "quick", "n_train", "n_test",
    "sqrt_pehe", "ate_true", "ate_hat", "ate_abs_err", "ate_rel_err",
    "ate_lo", "ate_hi", "ate_covered",
    "overlap_true", "overlap_hat", "overlap_lo", "overlap_hi", "overlap_covered",
    "time_s", "final_stage",
    "random_state", "git_commit", "machine", "finished_at", "model_step", "model_sha256",
]
PSID_BALANCED_CONTROLS = 500


def _split(b: Bunch, i: int):
    train, test = train_test_split_protocol(len(b.outcome), i)
    return (b.data[train], b.treatment[train], b.outcome[train], b.data[test],
            b.truth.ite[test], b.truth.ite[train])


def _ihdp_with_train_ite(i: int, home):
    tr = load_ihdp(i, split="train", data_home=home)
    te = load_ihdp(i, split="test", data_home=home)
    return tr.data, tr.treatment, tr.outcome, te.data, te.truth.ite, tr.truth.ite


def _acic_with_train_ite(i: int, home):
    return _split(load_acic2016(i, data_home=home), i)


def _cps_with_train_ite(i: int, home):
    return _split(load_lalonde(i, group="cps", data_home=home), i)


def _psid_with_train_ite(i: int, home):
    return _split(load_lalonde(i, group="psid", data_home=home), i)


def psid_balanced_rows(treatment: np.ndarray, i: int) -> np.ndarray:
    """Rows of PSID sample ``i`` in PSID balanced: all treated + 500 drawn controls, sorted."""
    rng = np.random.default_rng(42 + i)
    controls = rng.choice(
        np.flatnonzero(treatment == 0), size=PSID_BALANCED_CONTROLS, replace=False
    )
    return np.sort(np.concatenate([np.flatnonzero(treatment == 1), controls]))


def _psid_balanced_with_train_ite(i: int, home):
    b = load_lalonde(i, group="psid", data_home=home)
    keep = psid_balanced_rows(b.treatment, i)
    sub = Bunch(data=b.data[keep], treatment=b.treatment[keep], outcome=b.outcome[keep],
                truth=Bunch(ite=b.truth.ite[keep]))
    return _split(sub, i)


def _test_only(loader):
    """The loader without its last item (the training rows' true effects)."""
    def load(i: int, home):
        return loader(i, home)[:5]

    return load


# name -> loader returning X_tr, T_tr, Y_tr, X_te, tau_te, tau_tr (the last for the
# overlap-weighted ATE, an estimand over the training rows)
SPLITS = {
    "ihdp": _ihdp_with_train_ite,
    "acic": _acic_with_train_ite,
    "cps": _cps_with_train_ite,
    "psid": _psid_with_train_ite,
    "psid_balanced": _psid_balanced_with_train_ite,
}


# name -> (realizations of the protocol, loader returning X_tr, T_tr, Y_tr, X_te, tau_te)
DATASETS = {
    "ihdp": (range(100), _test_only(_ihdp_with_train_ite)),
    "acic": (range(1, 11), _test_only(_acic_with_train_ite)),
    "cps": (range(50), _test_only(_cps_with_train_ite)),
    "psid": (range(50), _test_only(_psid_with_train_ite)),
    "psid_balanced": (range(50), _test_only(_psid_balanced_with_train_ite)),
}


OVERLAP_COLUMNS = ["overlap_true", "overlap_hat", "overlap_lo", "overlap_hi", "overlap_covered"]


def overlap_columns(out: dict, tau_train) -> dict:
    """The overlap-weighted ATE's columns of a row: empty unless the method returned
    ``overlap_weights`` (its own weights on the training rows, where the estimand is
    stated) with ``overlap``, ``overlap_lo`` and ``overlap_hi``. The truth is
    ``sum(w ite) / sum(w)`` over the training rows, with the data's ``ite``."""
    weights = out.get("overlap_weights")
    if weights is None or tau_train is None:
        return dict.fromkeys(OVERLAP_COLUMNS, "")
    weights = np.asarray(weights, dtype=float).ravel()
    tau_train = np.asarray(tau_train, dtype=float).ravel()
    if weights.shape != tau_train.shape:
        raise ValueError(f"overlap_weights has shape {weights.shape}; expected {tau_train.shape}, one per training row")
    truth = float(np.sum(weights * tau_train) / np.sum(weights))
    lo, hi = float(out["overlap_lo"]), float(out["overlap_hi"])
    return {"overlap_true": truth, "overlap_hat": float(out["overlap"]), "overlap_lo": lo,
            "overlap_hi": hi, "overlap_covered": int(covers(lo, hi, truth))}


def evaluate(method, X_train, T_train, Y_train, X_test, tau_test, tau_train=None, *, random_state,
             quick) -> dict:
    """Fit and predict one method on one split; return the metric columns of a row.

    ``tau_train``, the training rows' true effects, scores the overlap-weighted ATE of the
    methods that return one (:func:`overlap_columns`); without it those columns are empty.
    """
    start = time.perf_counter()
    out = method(X_train, T_train, Y_train, X_test, random_state=random_state, quick=quick)
    elapsed = time.perf_counter() - start
    cate = np.asarray(out["cate_test"], dtype=float).ravel()
    ate_hat = float(out["ate"])
    abs_err, rel_err = ate_errors(cate, tau_test, ate_hat=ate_hat)
    ate_true = float(np.mean(tau_test))
    lo, hi = out.get("ate_lo"), out.get("ate_hi")
    has_interval = lo is not None and hi is not None
    return {
        "n_train": len(X_train),
        "n_test": len(X_test),
        "sqrt_pehe": pehe(cate, tau_test),
        "ate_true": ate_true,
        "ate_hat": ate_hat,
        "ate_abs_err": abs_err,
        "ate_rel_err": rel_err,
        "ate_lo": float(lo) if has_interval else "",
        "ate_hi": float(hi) if has_interval else "",
        "ate_covered": int(covers(lo, hi, ate_true)) if has_interval else "",
        **overlap_columns(out, tau_train),
        "time_s": elapsed,
        "final_stage": out.get("final_stage", ""),
    }


def default_data_home() -> str | None:
    """SKCFM_DATA if set, else ../shared/data beside the checkout if present, else None."""
    if os.environ.get("SKCFM_DATA"):
        return os.environ["SKCFM_DATA"]
    shared = ROOT.parent / "shared" / "data"
    return str(shared) if shared.is_dir() else None


def _git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
            text=True, check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _loads_weights(method: str) -> bool:
    """Whether ``method`` runs the CFM (skcfm's methods), so its rows name the weights."""
    return method.startswith("skcfm_")


def _model_columns() -> dict:
    """Training step and sha256 (first 12 hex digits) of the weights the skcfm methods load."""
    card = model_card(os.environ.get("SKCFM_BENCH_MODEL"))
    return {"model_step": card["steps"], "model_sha256": card["sha256"][:12]}


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()}"


def _done(path: Path, methods: list[str], weights: dict) -> set[tuple[str, str, str]]:
    """(realization, method, quick) of the rows already in ``path``; exits if rows of
    ``methods`` there were made with other weights than ``weights`` (their skipped fits
    would mix two models in one table)."""
    if not path.exists():
        return set()
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        fieldnames, rows = reader.fieldnames, list(reader)
    if fieldnames != FIELDS:
        if not set(fieldnames or []) <= set(FIELDS):
            raise SystemExit(
                f"{path} has columns {fieldnames}; expected {FIELDS}. "
                "Move it away to start afresh."
            )
        _upgrade(path, rows)
    others = sorted({f"{r['method']} (step {r['model_step'] or '?'}, sha256 {r['model_sha256'] or 'not recorded'})"
                     for r in rows if r["method"] in methods and _loads_weights(r["method"])
                     and r["model_sha256"] != weights["model_sha256"]})
    if others:
        raise SystemExit(
            f"{path} holds rows made with other weights than these (step {weights['model_step']}, "
            f"sha256 {weights['model_sha256']}): {', '.join(others)}. Move them away first (docs/benchmarks.md: "
            "benchmarks/results/archive/) or write to another --out."
        )
    return {(r["realization"], r["method"], r["quick"]) for r in rows}


def _upgrade(path: Path, rows: list[dict]) -> None:
    """Rewrite ``path`` with every column of :data:`FIELDS`: rows without a column get it
    empty, so new rows can be appended under one header."""
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS, restval="", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _append(path: Path, row: dict) -> None:
    new = not path.exists()
    with open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS, lineterminator="\n")  # as pandas writes them
        if new:
            writer.writeheader()
        writer.writerow(row)


def _shard(value: str) -> tuple[int, int]:
    """Parse ``K/N`` with 0 <= K < N."""
    try:
        k, n = (int(part) for part in value.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected K/N such as 0/2; got {value!r}") from None
    if not 0 <= k < n:
        raise argparse.ArgumentTypeError(f"expected 0 <= K < N; got {value!r}")
    return k, n


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Run the skcfm benchmark grid (see the module docstring).")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS),
                        choices=list(DATASETS), metavar="NAME",
                        help=f"data sets, from {list(DATASETS)} (default: all)")
    parser.add_argument("--methods", nargs="+", default=None, metavar="NAME",
                        help=f"methods, from {list(METHODS)} (default: all)")
    parser.add_argument("--realizations", type=int, default=None, metavar="N",
                        help="run the first N realizations of each data set "
                             "(default: all; 2 with --quick)")
    parser.add_argument("--shard", type=_shard, default=(0, 1), metavar="K/N",
                        help="run only every N-th realization, starting at the K-th "
                             "(0-based), to split the grid over N processes (default: 0/1)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke mode: 2 realizations, small forests, few folds")
    parser.add_argument("--out", type=Path, default=HERE / "results",
                        help="folder for the per-data-set CSVs (default: %(default)s)")
    parser.add_argument("--data-home", default=None,
                        help="data folder (default: $SKCFM_DATA, else ../shared/data "
                             "beside the checkout, else the user cache dir)")
    args = parser.parse_args(argv)
    methods = args.methods or list(METHODS)
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        parser.error(f"unknown method(s) {unknown}; registered: {list(METHODS)}")
    args.methods = methods
    if args.realizations is not None and args.realizations < 1:
        parser.error(f"--realizations must be >= 1; got {args.realizations}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    n_real = args.realizations or (2 if args.quick else None)
    data_home = args.data_home or default_data_home()
    quick = str(int(args.quick))
    args.out.mkdir(parents=True, exist_ok=True)
    commit, machine = _git_commit(), _machine()
    weights = _model_columns() if any(map(_loads_weights, args.methods)) else {}

    k, n = args.shard
    grid = [(name, list(DATASETS[name][0])[:n_real][k::n]) for name in args.datasets]
    total = sum(len(reals) for _, reals in grid) * len(args.methods)
    failures = []
    with progress_bar(total=total, unit="fit", dynamic_ncols=True) as bar:
        for name, realizations in grid:
            path = args.out / f"{name}.csv"
            done = _done(path, args.methods, weights)
            load = SPLITS[name]
            for i in realizations:
                todo = [m for m in args.methods if (str(i), m, quick) not in done]
                bar.update(len(args.methods) - len(todo))
                if not todo:
                    continue
                split = load(i, data_home)
                for method in todo:
                    bar.set_postfix_str(f"{name} {i} {method}")
                    try:
                        metrics = evaluate(METHODS[method], *split, random_state=i,
                                           quick=args.quick)
                    except Exception as exc:  # report, keep going, retry on the next run
                        failures.append((name, i, method, exc))
                        bar.write(f"FAILED {name} {i} {method}: {type(exc).__name__}: {exc}")
                    else:
                        _append(path, {
                            "dataset": name, "realization": i, "method": method,
                            "quick": quick, **metrics, "random_state": i,
                            "git_commit": commit, "machine": machine,
                            "finished_at": datetime.datetime.now(datetime.timezone.utc)
                            .isoformat(timespec="seconds"),
                            **(weights if _loads_weights(method) else {}),
                        })
                    bar.update(1)
    if failures:
        print(f"{len(failures)} fit(s) failed; rerun to retry them:", file=sys.stderr)
        for name, i, method, exc in failures:
            print(f"  {name} {i} {method}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"results in {args.out}; tables and plots: python {HERE / 'report.py'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
