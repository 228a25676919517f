"""Regenerate the benchmark report from the per-realization CSVs written by run.py.

Usage, from the repository root::

    python benchmarks/report.py [--results benchmarks/results] [--include-quick]

Writes ``<results>/README.md`` (mean ± SEM tables per data set beside the published
anchors, with the machines, library versions and weights of the rows; coverage of the 95%
ATE interval and, for the methods that have one, of the overlap-weighted ATE's) and PNG plots: ``pehe_<dataset>.png``
(sqrt(PEHE) per realization, box and strip plot per method) and ``time_vs_accuracy.png``.
Only CSVs with run.py's columns are read; rows from ``--quick`` runs are left out unless
``--include-quick`` is given. With ``--readme FILE`` it also replaces the summary table
under that file's "## Benchmark summary" heading (the top-level README keeps its own
short table, so by default no other file is written).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _metrics import sem  # noqa: E402  (this folder is sys.path[0] when run as a script)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

TITLES = {
    "ihdp": "IHDP-100",
    "acic": "ACIC 2016",
    "cps": "LaLonde CPS (RealCause)",
    "psid": "LaLonde PSID (RealCause)",
    "psid_balanced": "LaLonde PSID balanced (all treated + 500 controls)",
}
NOISE_FLOOR = "noise_floor.csv"  # written by noise_floor.py
SUMMARY_HEADING = "## Benchmark summary"  # the top-level README's section with the summary table
REQUIRED = {"dataset", "realization", "method", "quick", "sqrt_pehe", "ate_rel_err",
            "ate_abs_err", "ate_covered", "time_s", "git_commit", "machine"}

# The published anchors: mean ± SEM as reported, as (sqrt(PEHE), relative ATE error).
ANCHORS = {
    "seed CFM, with ancestral info (Table 1)": {
        "ihdp": ("5.49", "0.49"), "acic": ("2.79", "0.17"),
        "cps": ("11213", "0.70"), "psid": ("12975", "1.09"),
    },
    "CausalPFN (published)": {
        "ihdp": ("0.58", "0.20"), "acic": ("0.92", "0.05"),
        "cps": ("8956", "0.13"), "psid": ("14402", "0.22"),
    },
    "X-learner (no tuning)": {
        "ihdp": ("3.70", "0.19"), "acic": ("1.71", "0.07"),
        "cps": ("12281", "0.83"), "psid": ("21721", "0.92"),
    },
    "CausalForestDML (no tuning)": {
        "ihdp": ("4.40", "0.09"), "acic": ("1.47", "0.05"),
        "cps": ("15120", "1.12"), "psid": ("23116", "1.02"),
    },
    "T-learner (no tuning)": {
        "ihdp": ("2.94", "0.22"), "acic": ("2.06", "0.11"),
        "cps": ("9292", "0.40"), "psid": ("13910", "0.07"),
    },
    # The seed paper's Table 2 (appendix F.3) reports mean ± SD over 100 runs.
    "seed CFM, with ancestral info (Table 2, ± SD)": {
        "psid_balanced": ("19711 ± 230", "0.65 ± 0.02"),
    },
}



def _anchor_table() -> list[str]:
    """The table of published anchors, from :data:`ANCHORS`."""
    cols = ["ihdp", "acic", "cps", "psid"]
    lines = ["| method | IHDP | ACIC | CPS | PSID |", "|---|---|---|---|---|"]
    for name, values in ANCHORS.items():
        if all(c in values for c in cols):
            lines.append(f"| {name} | " + " | ".join(" / ".join(values[c]) for c in cols)
                         + " |")
    return lines


def load_results(folder: Path, include_quick: bool = False) -> pd.DataFrame:
    """All rows of run.py's CSVs in ``folder`` (other CSVs there are ignored)."""
    frames = []
    for path in sorted(folder.glob("*.csv")):
        df = pd.read_csv(path)
        if REQUIRED <= set(df.columns):
            frames.append(df)
    if not frames:
        return pd.DataFrame(columns=sorted(REQUIRED))
    df = pd.concat(frames, ignore_index=True)
    if not include_quick:
        df = df[df["quick"] == 0]
    return df


def summarize(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (dataset, method): run count, and mean and SEM of each metric."""
    rows = []
    for (dataset, method), g in df.groupby(["dataset", "method"], sort=False):
        row = {"dataset": dataset, "method": method, "runs": len(g)}
        for col in ("sqrt_pehe", "ate_rel_err", "ate_abs_err", "time_s"):
            row[col] = g[col].mean()
            row[col + "_sem"] = sem(g[col])
        covered = g["ate_covered"].dropna()
        row["coverage"] = covered.mean() if len(covered) else np.nan
        row["coverage_runs"] = len(covered)
        # the overlap-weighted ATE's interval; rows recorded without it leave it empty
        overlap = g["overlap_covered"].dropna() if "overlap_covered" in g else pd.Series(dtype=float)
        row["overlap_coverage"] = overlap.mean() if len(overlap) else np.nan
        row["overlap_coverage_runs"] = len(overlap)
        rows.append(row)
    return pd.DataFrame(rows)


def _fmt(mean: float, err: float) -> str:
    if np.isnan(mean):
        return "—"
    digits = 0 if abs(mean) >= 100 else 3 if abs(mean) < 1 else 2
    text = f"{mean:.{digits}f}"
    return text if np.isnan(err) else f"{text} ± {err:.{digits}f}"


def load_noise_floor(folder: Path) -> pd.DataFrame | None:
    """``noise_floor.py``'s per-realization floor, or None where it has not been run."""
    path = folder / NOISE_FLOOR
    return pd.read_csv(path) if path.exists() else None


def beyond_floor(df: pd.DataFrame, floor: pd.DataFrame) -> dict[str, float]:
    """Per method, sqrt(mean(PEHE² − floor²)) over the realizations both have: the part of
    the error a better estimate of E[ite | x] could remove (0 if noise makes it negative)."""
    floor = floor.set_index("realization")["sqrt_pehe"]
    out = {}
    for method, g in df.groupby("method", sort=False):
        g = g[g["realization"].isin(floor.index)]
        if len(g):
            excess = np.mean(g["sqrt_pehe"].to_numpy() ** 2 - floor.loc[g["realization"]].to_numpy() ** 2)
            out[method] = float(np.sqrt(max(excess, 0.0)))
    return out


def _dataset_table(summary: pd.DataFrame, dataset: str, rows: pd.DataFrame | None = None,
                   floor: pd.DataFrame | None = None) -> list[str]:
    """The data set's table; with its per-realization ``rows`` and noise ``floor`` rows, a
    column of each method's error beyond the floor (:func:`beyond_floor`) and a floor row."""
    extra = floor is not None and len(floor) > 0
    excess = beyond_floor(rows, floor) if extra else {}
    lines = [
        "| method | runs | √PEHE | ε_ATE (relative) | abs. ATE error | ATE coverage (95%) "
        "| overlap ATE coverage (95%) | time (s) |" + (" √PEHE beyond the noise floor |" if extra else ""),
        "|---|---|---|---|---|---|---|---|" + ("---|" if extra else ""),
    ]
    for r in summary[summary["dataset"] == dataset].itertuples():
        cov = "—" if np.isnan(r.coverage) else f"{r.coverage:.2f} ({r.coverage_runs})"
        overlap = ("—" if np.isnan(r.overlap_coverage)
                   else f"{r.overlap_coverage:.2f} ({r.overlap_coverage_runs})")
        lines.append(
            f"| {r.method} | {r.runs} | {_fmt(r.sqrt_pehe, r.sqrt_pehe_sem)} "
            f"| {_fmt(r.ate_rel_err, r.ate_rel_err_sem)} "
            f"| {_fmt(r.ate_abs_err, r.ate_abs_err_sem)} | {cov} | {overlap} "
            f"| {_fmt(r.time_s, r.time_s_sem)} |"
            + (f" {_fmt(excess.get(r.method, np.nan), np.nan)} |" if extra else "")
        )
    if extra:
        lines.append(f"| *noise floor: the true CATE (`noise_floor.py`)* | {len(floor)} "
                     f"| {_fmt(floor['sqrt_pehe'].mean(), sem(floor['sqrt_pehe']))} | | | | | | 0 |")
    for name, values in ANCHORS.items():
        if dataset in values:
            pehe, rel = values[dataset]
            lines.append(f"| *{name}* | | {pehe} | {rel} | | | | |" + (" |" if extra else ""))
    return lines


def _summary_table(summary: pd.DataFrame, datasets: list[str]) -> list[str]:
    lines = ["| method | " + " | ".join(TITLES.get(d, d) for d in datasets) + " |",
             "|---" * (len(datasets) + 1) + "|"]
    for method in summary["method"].unique():
        cells = []
        for d in datasets:
            r = summary[(summary["dataset"] == d) & (summary["method"] == method)]
            cells.append("—" if r.empty else
                         f"{_fmt(r.sqrt_pehe.iloc[0], np.nan)} / "
                         f"{_fmt(r.ate_rel_err.iloc[0], np.nan)}")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return lines


def plot_pehe(df: pd.DataFrame, dataset: str, path: Path) -> None:
    """Box plot of sqrt(PEHE) per method over realizations, with the points on top."""
    d = df[df["dataset"] == dataset]
    methods = list(d["method"].unique())
    values = [d.loc[d["method"] == m, "sqrt_pehe"].to_numpy() for m in methods]
    fig, ax = plt.subplots(figsize=(1.3 * len(methods) + 2, 4))
    ax.boxplot(values, showfliers=False)
    ax.set_xticks(range(1, len(methods) + 1), methods, rotation=30, ha="right")
    rng = np.random.default_rng(0)
    for k, v in enumerate(values, start=1):
        ax.scatter(k + rng.uniform(-0.15, 0.15, len(v)), v, s=8, alpha=0.5, color="C0")
    ax.set_ylabel("√PEHE (test rows)")
    ax.set_title(f"{TITLES.get(dataset, dataset)}: √PEHE per realization")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_time_vs_accuracy(summary: pd.DataFrame, datasets: list[str], path: Path) -> None:
    """Mean fit+predict time against mean sqrt(PEHE), one panel per data set."""
    ncols = min(3, len(datasets))
    nrows = -(-len(datasets) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5 * ncols, 4 * nrows), squeeze=False)
    for ax in axes.flat[len(datasets):]:
        ax.set_visible(False)
    for ax, dataset in zip(axes.flat, datasets, strict=False):  # the grid may have spare (hidden) panels
        s = summary[summary["dataset"] == dataset]
        ax.errorbar(s["time_s"], s["sqrt_pehe"], yerr=s["sqrt_pehe_sem"].fillna(0),
                    fmt="o", capsize=3)
        for r in s.itertuples():
            ax.annotate(r.method, (r.time_s, r.sqrt_pehe), fontsize=8,
                        xytext=(4, 4), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_xlabel("fit + predict time per realization (s)")
        ax.set_ylabel("√PEHE (mean ± SEM)")
        ax.set_title(TITLES.get(dataset, dataset).split(" (")[0])
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


SHIPPED_CARD = ROOT / "skcfm" / "weights" / "cfm-small.json"


def _shipped_card() -> dict:
    return json.loads(SHIPPED_CARD.read_text()) if SHIPPED_CARD.exists() else {}


def training_section(folder: Path, card: dict | None = None) -> list[str]:
    """Validation curve of the shipped model's run from ``training/validation_log.csv``, if present.

    ``card`` (default: the shipped model card) gives the shipped step and the steps where
    the prior changes; the fixed validation set follows the prior, so NLLs compare only
    between such changes.
    """
    log_path = folder / "training" / "validation_log.csv"
    if not log_path.exists():
        return []
    card = _shipped_card() if card is None else card
    log = pd.read_csv(log_path).drop_duplicates("step", keep="last").sort_values("step")
    changes = [h["from_step"] for h in card.get("prior_history", []) if 0 < h["from_step"] <= log["step"].max()]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(log["datasets_seen"], log["nll"], marker=".", label="with the validation PAMs")
    ax.plot(log["datasets_seen"], log["nll_no_pam"], marker=".", label="no PAM")
    for i, step in enumerate(changes):
        ax.axvline(np.interp(step, log["step"], log["datasets_seen"]), color="grey", linestyle=":",
                   label="prior changed" if i == 0 else None)
    ax.set_xlabel("prior data sets seen")
    ax.set_ylabel("validation NLL (fixed prior data sets)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(folder / "training" / "validation_curve.png", dpi=120)
    plt.close(fig)
    since = max(changes, default=0)
    # the evaluation at a change's own step still used the old validation set
    after = log["step"] > since
    segment = log[after] if after.any() else log
    best = segment.loc[segment["nll"].idxmin()]
    last = int(log["step"].iloc[-1])
    text = (f"From `training/validation_log.csv`: {len(log)} evaluations of the validation NLL, "
            f"steps {int(log['step'].iloc[0])} to {last} ({int(log['datasets_seen'].iloc[-1]):,} "
            "data sets seen at the last one).")
    if changes:
        text += (" The prior, and with it the fixed validation set, changes at steps "
                 f"{', '.join(map(str, changes))}: NLLs compare only between those steps.")
    where = f" under the final prior (steps after {since})" if changes and after.any() else ""
    text += (f" Lowest NLL{where}: {best['nll']:.3f} at step {int(best['step'])} "
             f"(no PAM {best['nll_no_pam']:.3f}).")
    if "steps" in card:
        text += (f" The shipped weights are step {card['steps']} of this run." if int(card["steps"]) <= last
                 else f" The shipped weights are step {card['steps']}, beyond the log's last evaluation.")
    lines = ["## Pretraining: validation curve", "", text, "",
             "| step | data sets | NLL | NLL, no PAM |", "|---|---|---|---|"]
    shown = log.iloc[::max(1, len(log) // 8)]
    shown = pd.concat([shown, log.iloc[[-1]]]).drop_duplicates("step")
    lines += [f"| {int(r.step)} | {int(r.datasets_seen):,} | {r.nll:.3f} | {r.nll_no_pam:.3f} |"
              for r in shown.itertuples()]
    return lines + ["", "![validation curve](training/validation_curve.png)", ""]


def _versions() -> str:
    out = [f"Python {platform.python_version()}"]
    for pkg in ("numpy", "scikit-learn", "econml", "torch"):
        try:
            out.append(f"{pkg} {importlib.metadata.version(pkg)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    return ", ".join(out)


def replace_summary_table(readme: Path, table: list[str]) -> None:
    """Replace the first table after ``readme``'s "## Benchmark summary" heading with ``table``."""
    lines = readme.read_text().split("\n")
    heading = next((i for i, line in enumerate(lines) if line.startswith(SUMMARY_HEADING)), None)
    if heading is None:
        raise ValueError(f"{readme} has no {SUMMARY_HEADING!r} heading to put the summary table under")
    start = next((i for i in range(heading + 1, len(lines)) if lines[i].startswith("|")), None)
    if start is None or any(line.startswith("## ") for line in lines[heading + 1:start]):
        raise ValueError(f"{readme} has no table under its {SUMMARY_HEADING!r} heading")
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    readme.write_text("\n".join(lines[:start] + table + lines[end:]))


def _models(df: pd.DataFrame) -> str:
    """The weights the skcfm rows were made with, as their model_step/model_sha256 columns say."""
    if "model_sha256" not in df:
        return "not recorded"
    rows = df[df["method"].astype(str).str.startswith("skcfm_")]
    labels = [f"sha256 {sha}…" if pd.notna(sha) else "not recorded"
              for sha, _ in rows.groupby("model_sha256", dropna=False)]
    return ", ".join(labels) or "—"


def write_report(folder: Path, include_quick: bool = False, readme_summary: Path | None = None) -> Path:
    """Write README.md and the PNG plots into ``folder``; return the README's path. With
    ``readme_summary``, also put the summary table into that file (see
    :func:`replace_summary_table`)."""
    df = load_results(folder, include_quick)
    known = [d for d in TITLES if d in set(df["dataset"])]
    datasets = known + sorted(set(df["dataset"]) - set(known))
    summary = summarize(df)

    machines = "; ".join(sorted(df["machine"].astype(str).unique())) if len(df) else "—"
    models = _models(df)
    lines = [
        "# skcfm benchmark results",
        "",
        "Generated by `python benchmarks/report.py` from the per-realization CSVs in this "
        "folder (written by `python benchmarks/run.py`); do not edit by hand.",
        "",
        f"- Machine(s) of the runs: {machines}; report host: {platform.node() or '?'} "
        f"({os.cpu_count()} cores), {_versions()}",
        f"- Weights of the skcfm rows: {models}",
        f"- Rows: {len(df)}" + (" (including --quick rows: small forests, not for "
                                "comparison)" if include_quick else " (--quick rows left out)"),
        "",
        "Protocol: IHDP-100 realizations with their 672/75 "
        "train/test files; ACIC 2016 (10 realizations), LaLonde CPS and PSID (samples "
        "0-49) split 90/10 by `np.random.default_rng(42 + i)`; PSID balanced = all treated "
        "+ 500 controls drawn with `default_rng(42 + i)`, then split the same way. "
        "Metrics on the test rows; mean ± SEM over realizations. √PEHE = "
        "sqrt(mean((τ̂ − τ)²)); ε_ATE = |ATÊ − ATE| / |ATE| with both over the test rows; "
        "coverage = share of realizations whose 95% ATE interval holds the true test ATE "
        "(count in brackets); overlap ATE coverage = the same for the overlap-weighted ATE "
        "(`ate(estimand=\"overlap\")`, skcfm's hybrid methods; — for the others and for rows "
        "recorded without it) against Σ w·ite / Σ w over the training rows, where that "
        "estimand is stated, with the estimator's own weights w = e(1 − e) of its "
        "cross-fitted propensity; time = fit + predict wall time on one core. Rows in italics "
        "are the published anchors (below).",
        "",
        "Baselines use fixed settings (no tuning): forests of 100 trees, depth 6, min leaf "
        "max(1, n // 100) for every nuisance model and meta-learner arm; CausalForestDML "
        "and the (forest) DR-learner with 1000 trees and cv=5; X and Y standardised on "
        "the training rows. Differences from the anchors' code (CausalPFN's benchmark): "
        "no degree-3 polynomial featurizer in the final forests, and ε_ATE over the test "
        "rows (CausalPFN fits a second time on all rows for its ATE).",
        "",
        "skcfm methods use the estimator's defaults (local contexts, n_estimators=\"auto\": "
        "4 members per region on IHDP and PSID, 8 on CPS, 16 on ACIC; final_stage=\"auto\": "
        "the lowest DR-loss among the CFM, the causal forest over its "
        "residuals, the DR-learner and the two blends, or the CFM-T-learner blend where more "
        "than half of the training rows have a propensity at the clip bound). Each row "
        "records the weights it was made with (model_step, model_sha256); rows of earlier "
        "shipped weights are in archive/.",
        "",
    ]
    if datasets:
        table = _summary_table(summary, datasets)
        lines += ["## Summary: √PEHE / ε_ATE (means)", "", *table, ""]
        if readme_summary is not None:
            replace_summary_table(readme_summary, table)
    floors = load_noise_floor(folder)
    if floors is not None:
        lines += [
            "RealCause's true effects (`ite` = y1 − y0) hold outcome noise, so no method's √PEHE "
            "can reach 0 there. `python benchmarks/noise_floor.py` scores the true CATE (each row's "
            "mean `ite` over the other 49 samples, which share the covariates) on the same test "
            "rows: the *noise floor* row. The column *√PEHE beyond the noise floor* is "
            "sqrt(mean(PEHE² − floor²)) over the realizations, the error a better estimate of "
            "E[ite | x] could remove.",
            "",
        ]
    for dataset in datasets:
        plot_pehe(df, dataset, folder / f"pehe_{dataset}.png")
        lines += [f"## {TITLES.get(dataset, dataset)}", ""]
        floor = None if floors is None else floors[floors["dataset"] == dataset]
        lines += _dataset_table(summary, dataset, df[df["dataset"] == dataset], floor)
        lines += ["", f"![√PEHE per realization](pehe_{dataset}.png)", ""]
    if datasets:
        plot_time_vs_accuracy(summary, datasets, folder / "time_vs_accuracy.png")
        lines += ["## Time against accuracy", "",
                  "![time against √PEHE](time_vs_accuracy.png)", ""]
    lines += training_section(folder)
    lines += [
        "## Published anchors",
        "",
        "Mean ± SEM as reported; √PEHE / ε_ATE (relative ATE error, the seed paper's "
        "appendix F.2.1). PSID balanced: the seed CFM with ancestral info reaches "
        "19711 ± 230 / 0.65 ± 0.02 (Table 2, mean ± SD over 100 runs).",
        "",
        *_anchor_table(),
        "",
    ]
    readme = folder / "README.md"
    readme.write_text("\n".join(lines))
    return readme


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=HERE / "results",
                        help="folder with run.py's CSVs (default: %(default)s)")
    parser.add_argument("--include-quick", action="store_true",
                        help="also use rows from --quick runs")
    parser.add_argument("--readme", type=Path, default=None,
                        help="a file with a '## Benchmark summary' table to replace (default: none; the "
                             "top-level README keeps its own short table)")
    args = parser.parse_args(argv)
    print(write_report(args.results, args.include_quick, args.readme))
    return 0


if __name__ == "__main__":
    sys.exit(main())
