"""Do the stated intervals cover what they say they cover? A simulation users can rerun.

Simulates data sets of known truth over a grid of designs and records, per data set,
method and estimand, the estimate, its 95 % interval, the interval's width, its error
and whether it covers the truth. One command::

    OMP_NUM_THREADS=1 python benchmarks/coverage_study.py            # 504 data sets, 28 per cell
    python benchmarks/coverage_study.py --datasets 18 --out /tmp/c.csv  # one per design cell
    python benchmarks/coverage_study.py --summary-only                 # the table of a finished run

Design (:func:`simulate`): ``n`` rows (default 1,000) of ``d`` covariates (default 6:
five standard normal, one Bernoulli(0.5)); a binary treatment with a logistic
propensity ``e(x) = expit(s * g(x))``, ``g`` a fixed unit-variance linear index of the
normal covariates, so that the true propensity model is logistic; ``Y = mu0(x) + T tau(x)
+ noise``, so each row's individual effect is its conditional effect ``tau(x)``. The
design cells cross

- **overlap** (:data:`OVERLAP_SCALES`): ``s`` chosen so that about 0 % ("good"), 5 %
  ("moderate") and 25 % ("poor") of the rows have ``e(x)`` outside [0.05, 0.95];
- **surface** (:data:`SURFACES`): ``mu0`` and a heterogeneous ``tau`` that are
  "linear"; "smooth" (smooth additive nonlinear terms, what the CFM's prior fits: the CFM
  right); or "sharp" (step functions and interactions, discontinuous: the CFM wrong);
- **noise**: Gaussian or Student t with 3 degrees of freedom (heavy tails), both of
  variance 1.

Data set ``i`` is cell ``i % 18`` drawn with seed ``seed + i``; each method gets
``random_state = seed + i``. Methods (:data:`METHODS`):

- ``skcfm``: ``CFMCateEstimator(final_stage="cfm", random_state=...)`` with the
  unconfoundedness PAM (hybrid AIPW inference, the default; the shipped weights, or
  ``SKCFM_BENCH_MODEL``, a .safetensors path, when set). The ATE and overlap intervals come
  from the cross-fitted nuisances whatever the final stage; the CFM as final stage gives
  every data set the same kind of per-row interval (the members' spread);
- ``dr_learner``: EconML's ``DRLearner`` with its default nuisance and final models
  (binary, discrete treatment; a linear final stage with statsmodels inference);
- ``linear_dml``: EconML's ``LinearDML(discrete_treatment=True)``, default nuisances.

Estimands (one CSV row each; ``stated`` says whether that truth is the one the method's
documentation says its interval covers):

- ``ate``: the average effect over the training rows, truth ``mean(tau(x_i))``. skcfm:
  ``ate()`` and ``ate_interval()`` without X (the doubly robust ATE on the training rows);
  EconML: ``ate(X)`` and ``ate_interval(X)`` over the training rows (the final model's
  mean effect there).
- ``overlap`` (skcfm only): ``ate(estimand="overlap")`` and its interval against the
  overlap-weighted ATE with the *true* propensity, ``sum(w tau) / sum(w)``, ``w = e (1 -
  e)`` (Li, Morgan and Zaslavsky, 2018).
- ``overlap_fitted`` (skcfm only): the same estimate and interval against the truth with
  skcfm's own weights, ``e`` its cross-fitted, clipped propensity: what the estimator
  states (``skcfm.aipw.overlap_weighted_ate``).
- ``cate_rows``: ``effect_interval`` on the training rows; ``covered`` is the share of
  rows whose interval holds ``tau(x_i)``, ``width`` the mean width, ``abs_error`` the
  mean |effect - tau|, ``estimate`` and ``truth`` the means. skcfm's default intervals
  are the ensemble's spread, not confidence intervals (``stated = 0``, ``interval_kind``
  says so); EconML's are confidence intervals of the linear final model's effect, so
  they claim to cover ``tau(x)`` only where it is linear in x.

Every finished (data set, method) appends its rows to ``--out`` at once; a rerun skips
the pairs there, so a stopped run resumes, and ``--start``/``--stop`` split the data sets
between processes (write each to its own ``--out``; ``--summary-only --out a.csv b.csv``
summarises several files together). ``--workers N`` runs N data sets at a time in
separate processes (one core each). Cost at 1,000 rows on one core: about 10 to 12 s per
data set for the three methods (skcfm about 8 s of it, fit and effect on the 1,000 rows),
so about 85 to 100 minutes for the default 504.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # the checkout's skcfm, installed or not

DEFAULT_OUT = HERE / "results" / "coverage_study.csv"
ALPHA = 0.05
EXTREME = 0.05  # a row's true propensity outside [EXTREME, 1 - EXTREME] counts as poor overlap
# s of e(x) = expit(s g(x)) with g ~ N(0, 1): P(|s g| > logit(0.95) = 2.944) is about 0 %,
# 5 % (s = 2.944 / 1.960) and 25 % (s = 2.944 / 1.150)
OVERLAP_SCALES = {"good": 0.5, "moderate": 1.50, "poor": 2.56}
SURFACES = ("linear", "smooth", "sharp")
NOISES = ("gaussian", "t3")
# overlap varies fastest, then the surface, then the noise: any 9 consecutive data sets hold every
# overlap x surface pair, any 18 every cell
CELLS = [(o, s, e) for e in NOISES for s in SURFACES for o in OVERLAP_SCALES]
N_NORMAL = 5  # normal covariates; the rest are Bernoulli(0.5)
# the propensity's index: unit variance over the five normal covariates
PROPENSITY_COEF = np.array([1.0, -0.75, 0.5, 0.5, 0.0]) / np.sqrt(1.0 + 0.5625 + 0.25 + 0.25)

FIELDS = [
    "dataset", "seed", "overlap", "surface", "noise", "n_rows", "n_covariates", "share_extreme",
    "method", "estimand", "stated", "interval_kind", "truth", "estimate", "lo", "hi", "width",
    "covered", "abs_error", "fit_s",
]


def design(i: int, seed: int = 0) -> dict:
    """The design cell and seed of data set ``i``: cell ``i % 18``, seed ``seed + i``."""
    overlap, surface, noise = CELLS[i % len(CELLS)]
    return {"dataset": i, "seed": seed + i, "overlap": overlap, "surface": surface, "noise": noise}


def surfaces(X: np.ndarray, surface: str) -> tuple[np.ndarray, np.ndarray]:
    """``mu0(x)`` and ``tau(x)`` of a surface; both use the propensity's covariates, so
    every design is confounded, and ``tau`` varies with x in each."""
    x0, x1, x2, x3, x4 = (X[:, j] for j in range(5))
    b = X[:, N_NORMAL] if X.shape[1] > N_NORMAL else np.zeros(len(X))
    if surface == "linear":
        mu0 = 1.0 * x0 - 0.5 * x1 + 0.5 * x2 + 0.25 * x3 + 0.5 * b
        tau = 1.0 + 0.5 * x0 - 0.5 * x1 + 0.25 * b
    elif surface == "smooth":  # smooth additive: the CFM's prior fits it
        mu0 = 1.5 * np.sin(x0) + 0.5 * x1**2 + np.tanh(2 * x2) + 0.25 * x3 + 0.5 * b
        tau = 1.0 + 0.75 * np.tanh(x0) + 0.25 * (x1**2 - 1.0) + 0.5 * np.cos(x4)
    elif surface == "sharp":  # steps and interactions: discontinuous, far from the prior's smooth functions
        mu0 = (2.0 * ((x0 > 0) & (x1 > 0)) + 1.5 * np.sign(x2) * (x3 > 0.5) + 1.0 * (x4 > 1) - 0.5 * b
               + 0.5 * x0 * x1)
        tau = 1.0 + 2.0 * ((x0 > 0.5) & (x1 < 0)) - 1.0 * (x2 > 0) + 1.5 * (x3 * x4 > 0.5) * b
    else:
        raise ValueError(f"surface={surface!r}; expected one of {SURFACES}")
    return mu0, tau


def simulate(n: int, d: int, overlap: str, surface: str, noise: str, random_state: int) -> dict:
    """One data set of the design with its truths.

    Parameters
    ----------
    n : int
        Rows.
    d : int
        Covariates, at least 5: five standard normal, the rest Bernoulli(0.5).
    overlap : {"good", "moderate", "poor"}
        The propensity's scale (:data:`OVERLAP_SCALES`).
    surface : {"linear", "smooth", "sharp"}
        ``mu0`` and ``tau`` (:func:`surfaces`).
    noise : {"gaussian", "t3"}
        The outcome noise, variance 1 (t with 3 degrees of freedom scaled by 1/sqrt(3)).
    random_state : int
        Seeds every draw.

    Returns
    -------
    dict
        ``X``, ``T``, ``Y``, ``tau`` (each row's true effect), ``propensity`` (the true
        e(x)), ``ate`` (mean tau), ``overlap_ate`` (sum(w tau) / sum(w), w = e (1 - e)) and
        ``share_extreme`` (share of rows with e(x) outside [0.05, 0.95]).
    """
    if d < N_NORMAL:
        raise ValueError(f"d={d}; the design needs at least {N_NORMAL} covariates")
    if overlap not in OVERLAP_SCALES:
        raise ValueError(f"overlap={overlap!r}; expected one of {list(OVERLAP_SCALES)}")
    rng = np.random.default_rng(random_state)
    X = np.column_stack([rng.standard_normal((n, N_NORMAL)),
                         rng.binomial(1, 0.5, (n, d - N_NORMAL)).astype(float)])
    propensity = expit(OVERLAP_SCALES[overlap] * (X[:, :N_NORMAL] @ PROPENSITY_COEF))
    T = rng.binomial(1, propensity)
    mu0, tau = surfaces(X, surface)
    if noise == "gaussian":
        eps = rng.standard_normal(n)
    elif noise == "t3":
        eps = rng.standard_t(3, n) / np.sqrt(3.0)
    else:
        raise ValueError(f"noise={noise!r}; expected one of {NOISES}")
    Y = mu0 + T * tau + eps
    return {"X": X, "T": T, "Y": Y, "tau": tau, "propensity": propensity, "ate": float(tau.mean()),
            "overlap_ate": overlap_truth(tau, propensity),
            "share_extreme": float(np.mean((propensity < EXTREME) | (propensity > 1 - EXTREME)))}


def overlap_truth(tau: np.ndarray, propensity: np.ndarray) -> float:
    """The overlap-weighted average effect ``sum(w tau) / sum(w)`` with ``w = e (1 - e)``."""
    w = propensity * (1.0 - propensity)
    return float(np.sum(w * tau) / np.sum(w))


# --- methods: each returns {estimand: (estimate, lo, hi, truth override or None)} and row intervals


def _skcfm(data: dict, random_state: int) -> dict:
    from skcfm import CFMCateEstimator, set_config, unconfoundedness_pam

    set_config(progress=False)  # one progress line per data set instead
    X, T, Y = data["X"], data["T"], data["Y"]
    pam = unconfoundedness_pam([f"x{j}" for j in range(X.shape[1])], treatment="T", outcome="Y")
    est = CFMCateEstimator(model=os.environ.get("SKCFM_BENCH_MODEL"), final_stage="cfm", random_state=random_state)
    est.fit(X, T, Y, ancestors=pam)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the ensemble-spread and overlap warnings: the columns say what each is
        ate_lo, ate_hi = est.ate_interval()
        ov_lo, ov_hi = est.ate_interval(estimand="overlap")
        effect = est.effect(X)
        row_lo, row_hi = est.effect_interval(X)
    overlap_hat = est.ate(estimand="overlap")
    # the weights the estimator states: its cross-fitted propensity on the training rows, unclipped
    fitted = getattr(getattr(est, "_doubly_robust", None), "unclipped_propensity_", None)
    out = {
        "ate": (est.ate(), ate_lo, ate_hi, None, 1, "normal (hybrid AIPW)"),
        "overlap": (overlap_hat, ov_lo, ov_hi, None, 0, "normal (augmented overlap weights)"),
        "cate_rows": (effect, row_lo, row_hi, None, int(est.final_stage_ == "causal_forest"),
                      "ensemble spread" if est.final_stage_ == "cfm" else "normal (causal forest)"),
    }
    if fitted is not None:
        out["overlap_fitted"] = (overlap_hat, ov_lo, ov_hi, overlap_truth(data["tau"], fitted), 1,
                                 "normal (augmented overlap weights)")
    return out


def _econml(est, data: dict) -> dict:
    X, T, Y = data["X"], data["T"], data["Y"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(Y, T, X=X)
        ate = float(np.ravel(est.ate(X, T0=0, T1=1))[0])
        lo, hi = (float(np.ravel(v)[0]) for v in est.ate_interval(X, T0=0, T1=1, alpha=ALPHA))
        effect = np.ravel(est.effect(X, T0=0, T1=1))
        row_lo, row_hi = (np.ravel(v) for v in est.effect_interval(X, T0=0, T1=1, alpha=ALPHA))
    kind = "normal (linear final model)"
    return {"ate": (ate, lo, hi, None, 1, kind), "cate_rows": (effect, row_lo, row_hi, None, 1, kind)}


def _dr_learner(data: dict, random_state: int) -> dict:
    from econml.dr import DRLearner

    return _econml(DRLearner(random_state=random_state), data)


def _linear_dml(data: dict, random_state: int) -> dict:
    from econml.dml import LinearDML

    return _econml(LinearDML(discrete_treatment=True, random_state=random_state), data)


METHODS = {"skcfm": _skcfm, "dr_learner": _dr_learner, "linear_dml": _linear_dml}


def score(data: dict, results: dict) -> list[dict]:
    """One row per estimand from a method's results: truth, estimate, interval, width,
    coverage and absolute error (for ``cate_rows`` means over the rows)."""
    truths = {"ate": data["ate"], "overlap": data["overlap_ate"]}
    rows = []
    for estimand, (estimate, lo, hi, truth, stated, kind) in results.items():
        if estimand == "cate_rows":
            tau = data["tau"]
            estimate, lo, hi = (np.asarray(a, dtype=float) for a in (estimate, lo, hi))
            row = {"truth": float(tau.mean()), "estimate": float(estimate.mean()), "lo": float(lo.mean()),
                   "hi": float(hi.mean()), "width": float(np.mean(hi - lo)),
                   "covered": float(np.mean((lo <= tau) & (tau <= hi))),
                   "abs_error": float(np.mean(np.abs(estimate - tau)))}
        else:
            truth = truths[estimand] if truth is None else truth
            row = {"truth": float(truth), "estimate": float(estimate), "lo": float(lo), "hi": float(hi),
                   "width": float(hi - lo), "covered": float(lo <= truth <= hi),
                   "abs_error": float(abs(estimate - truth))}
        rows.append({"estimand": estimand, "stated": stated, "interval_kind": kind, **row})
    return rows


def run_one(i: int, method: str, *, seed: int, n_rows: int, n_covariates: int) -> list[dict]:
    """Simulate data set ``i`` and fit ``method`` on it; its CSV rows."""
    cell = design(i, seed)
    data = simulate(n_rows, n_covariates, cell["overlap"], cell["surface"], cell["noise"], cell["seed"])
    start = time.perf_counter()
    results = METHODS[method](data, cell["seed"])
    elapsed = time.perf_counter() - start
    base = {**cell, "n_rows": n_rows, "n_covariates": n_covariates, "share_extreme": data["share_extreme"],
            "method": method, "fit_s": elapsed}
    return [{**base, **row} for row in score(data, results)]


def _run_dataset(i: int, methods: list[str], seed: int, n_rows: int, n_covariates: int) -> list[tuple]:
    """Every method on data set ``i``: (method, rows or None, error text) per method."""
    out = []
    for method in methods:
        try:
            out.append((method, run_one(i, method, seed=seed, n_rows=n_rows, n_covariates=n_covariates), ""))
        except Exception as exc:  # report, keep going; a rerun retries it
            out.append((method, None, f"{type(exc).__name__}: {exc}"))
    return out


def _done(path: Path, seed: int, n_rows: int, n_covariates: int) -> set[tuple[int, str]]:
    """(data set, method) pairs already in ``path`` for this seed and size."""
    if not path.exists():
        return set()
    df = pd.read_csv(path)
    if list(df.columns) != FIELDS:
        raise SystemExit(f"{path} has columns {list(df.columns)}; expected {FIELDS}. Move it away first.")
    df = df[(df["seed"] - df["dataset"] == seed) & (df["n_rows"] == n_rows) & (df["n_covariates"] == n_covariates)]
    return set(zip(df["dataset"].astype(int), df["method"], strict=True))


def _append(path: Path, rows: list[dict]) -> None:
    new = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS, lineterminator="\n")
        if new:
            writer.writeheader()
        writer.writerows(rows)


def summarize(df: pd.DataFrame, by: tuple[str, ...] = ("overlap",)) -> pd.DataFrame:
    """Coverage with its binomial standard error, mean width and mean |error| per
    ``by`` x method x estimand (for ``cate_rows`` the mean over data sets of the per-row
    shares; its standard error is the data sets' spread)."""
    keys = [*by, "method", "estimand"]
    out = []
    for key, g in df.groupby(keys, sort=False):
        cov = g["covered"].to_numpy(dtype=float)
        n = len(cov)
        p = float(cov.mean())
        if set(np.unique(cov)) <= {0.0, 1.0}:
            se = np.sqrt(p * (1 - p) / n)
        else:
            se = float(np.std(cov, ddof=1) / np.sqrt(n)) if n > 1 else np.nan
        out.append({**dict(zip(keys, key, strict=True)), "n": n, "coverage": p, "coverage_se": se,
                    "mean_width": g["width"].mean(), "mean_abs_error": g["abs_error"].mean(),
                    "stated": int(g["stated"].max()), "share_extreme": g["share_extreme"].mean()})
    order = {o: k for k, o in enumerate([*OVERLAP_SCALES, *SURFACES, *NOISES])}
    res = pd.DataFrame(out)
    if len(res):
        res = res.sort_values([*by, "method", "estimand"], key=lambda s: s.map(lambda v: order.get(v, 99)
                                                                               if s.name in by else v))
    return res


def format_summary(table: pd.DataFrame) -> str:
    """The summary as fixed-width text; coverage as ``0.93 ± 0.02``, ``*`` where the method
    does not claim that interval covers that truth."""
    if table.empty:
        return "(no rows)"
    shown = table.copy()
    shown["coverage"] = [f"{c:.3f} ± {s:.3f}" + ("" if st else " *")
                         for c, s, st in zip(table["coverage"], table["coverage_se"], table["stated"], strict=True)]
    shown = shown.drop(columns=["coverage_se", "stated"])
    return shown.to_string(index=False, float_format=lambda v: f"{v:.3f}")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="Design, estimands and truths: see the module docstring.")
    parser.add_argument("--datasets", type=int, default=504, metavar="N",
                        help="number of data sets, cycled over the 18 design cells (default: %(default)s)")
    parser.add_argument("--start", type=int, default=0, help="first data set index (default: 0)")
    parser.add_argument("--stop", type=int, default=None, help="one past the last index (default: --datasets)")
    parser.add_argument("--n-rows", type=int, default=1000, help="rows per data set (default: %(default)s)")
    parser.add_argument("--n-covariates", type=int, default=6,
                        help="covariates, at least 5 (default: %(default)s)")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS), metavar="NAME",
                        help=f"from {list(METHODS)} (default: all)")
    parser.add_argument("--seed", type=int, default=0,
                        help="data set i is drawn, and its methods seeded, with seed + i (default: 0)")
    parser.add_argument("--workers", type=int, default=1,
                        help="data sets fitted at a time, one process and one core each (default: 1)")
    parser.add_argument("--out", type=Path, nargs="+", default=[DEFAULT_OUT],
                        help="CSV to append to (default: benchmarks/results/coverage_study.csv); with --summary-only, "
                             "one or more to read")
    parser.add_argument("--summary-only", action="store_true", help="print the summary of --out and stop")
    args = parser.parse_args(argv)
    if args.n_covariates < N_NORMAL:
        parser.error(f"--n-covariates must be at least {N_NORMAL}")
    if not args.summary_only and len(args.out) != 1:
        parser.error("--out takes one file unless --summary-only")
    args.stop = args.datasets if args.stop is None else min(args.stop, args.datasets)
    return args


def print_summary(paths: list[Path]) -> None:
    df = pd.concat([pd.read_csv(p) for p in paths if p.exists()], ignore_index=True) if any(
        p.exists() for p in paths) else pd.DataFrame(columns=FIELDS)
    df = df.drop_duplicates(["dataset", "seed", "n_rows", "n_covariates", "method", "estimand"])
    print(f"{df['dataset'].nunique()} data sets, {len(df)} rows. Coverage of the 95 % intervals "
          "(± binomial standard error; cate_rows: mean share of rows covered); "
          "* = not the truth the method's interval claims to cover.\n")
    print("By overlap regime:")
    print(format_summary(summarize(df, ("overlap",))))
    print("\nBy outcome surface (smooth: the CFM's prior fits; sharp: it does not):")
    print(format_summary(summarize(df, ("surface",))))


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.summary_only:
        print_summary(args.out)
        return 0
    out = args.out[0]
    done = _done(out, args.seed, args.n_rows, args.n_covariates)
    todo = [(i, [m for m in args.methods if (i, m) not in done]) for i in range(args.start, args.stop)]
    todo = [(i, methods) for i, methods in todo if methods]
    print(f"{len(todo)} data sets to fit ({args.start}..{args.stop - 1}, {len(done)} pairs already in {out})",
          flush=True)
    failures = []
    start = time.perf_counter()

    def record(k: int, i: int, results: list[tuple]) -> None:
        for method, rows, error in results:
            if rows is None:
                failures.append((i, method, error))
                print(f"FAILED data set {i} {method}: {error}", file=sys.stderr, flush=True)
            else:
                _append(out, rows)
        elapsed = time.perf_counter() - start
        eta = elapsed / k * (len(todo) - k)
        cell = design(i, args.seed)
        print(f"[{k}/{len(todo)}] data set {i} ({cell['overlap']}, {cell['surface']}, {cell['noise']}) done; "
              f"{elapsed / 60:.1f} min elapsed, about {eta / 60:.1f} min left", flush=True)

    kwargs = {"seed": args.seed, "n_rows": args.n_rows, "n_covariates": args.n_covariates}
    if args.workers <= 1:
        for k, (i, methods) in enumerate(todo, start=1):
            record(k, i, _run_dataset(i, methods, **kwargs))
    else:
        env = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
        os.environ.update(env)  # the workers inherit one thread each
        with ProcessPoolExecutor(args.workers) as pool:
            futures = {pool.submit(_run_dataset, i, methods, **kwargs): i for i, methods in todo}
            for k, future in enumerate(as_completed(futures), start=1):
                record(k, futures[future], future.result())
    print()
    print_summary([out])
    if failures:
        print(f"\n{len(failures)} fit(s) failed; rerun the same command to retry them", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
