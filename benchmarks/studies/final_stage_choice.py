"""Does ``final_stage="auto"`` pick the best of the CFM, the causal forest and the DR-learner?

For each selection realization (``model_selection.SELECTION``; ACIC-like: 10 draws) it fits
``CFMCateEstimator(final_stage="auto")`` with the unconfoundedness PAM and ``--members``
members per region (default 4, one fixed size on every data set; "auto", the estimator's
default, reads 16 on ACIC-like data, 8 on CPS, 4 on IHDP and PSID) and records
sqrt(PEHE) on the test rows of the CFM's effects, of the causal forest's, of the
DR-learner's and of the chosen one, with the selection evidence on the training rows: each
candidate's mean DR-loss and each alternative's DR-loss z statistic against the CFM
(negative: the alternative fits better), and for comparison the forest's R-loss z
(EconML's ``RScorer`` criterion).

It also records, scored the same way, ``tl``: the estimator's T-learner (forests with the
benchmark baseline's settings, leaves of ``n // 100`` rows of the whole sample; out of bag
for a row's own arm), which is not a final stage of its own, and the blends ``blend_tl``
(half CFM, half T-learner) and ``blend_dr`` (half CFM, half DR-learner), which ``auto``
weighs too; rows without them leave them empty. The ``chosen`` column keeps the choice of
the rule each row was fitted under, which need not be the estimator's; ``clipped_share``
is the share of training rows at the propensity clip bound, above 0.5 of which ``auto``
takes ``blend_tl`` (rows without it leave it empty).

Run: python benchmarks/studies/final_stage_choice.py --datasets ihdp psid cps acic_like
[--members 4] [--out results/final_stage_choice.csv] (appends; a rerun of a realization
replaces its row; ``members`` is part of the key). ``--members auto`` uses the estimator's
default ensemble size. ``--realizations 0-9 30-99`` fits those realizations instead of the
selection ones, for a check outside them (any benchmark data set, ``acic`` and
``psid_balanced`` included); the ``selection`` column tells the two apart, and ``--bars``
reports them separately. ``--save-effects DIR`` also writes each realization's per-row
evidence (``DIR/<dataset>_<i>.npz``: T, Y, the nuisances, every candidate's out-of-sample
effects on the training rows and effects on the test rows, the true test effects), so that
other rules can be scored without refitting.

``--bars`` fits nothing: it recomputes, from the recorded losses and z statistics, the
choice an alternative would get if it had to pass ``z < bar`` to replace the CFM, and
prints the mean sqrt(PEHE) per bar (the z-gated rule, ``bar = -1.645``, is a one-sided
test at 5 %; the estimator's rule is ``bar = 0``, the lowest loss wins), for the estimator's
candidates and, on the rows that record them, with the extra ones added. The ``chosen``
column keeps the rule each row was fitted under.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parents[1]  # benchmarks/: the harness modules and results/
sys.path.append(str(HERE))
sys.path.insert(0, str(HERE.parent))

from _metrics import pehe  # noqa: E402
from model_selection import LOADERS, SELECTION, add_rows, parse_realizations  # noqa: E402
from run import default_data_home  # noqa: E402

from skcfm import CFMCateEstimator, unconfoundedness_pam  # noqa: E402
from skcfm.final_stages import dr_losses, paired_z  # noqa: E402

MEMBERS = 4
CANDIDATES = ("causal_forest", "dr")  # the estimator's alternatives to the CFM
EXTRA_CANDIDATES = ("tl", "blend_tl", "blend_dr")


def extra_candidates(stages, X, T, Y, nuisances, X_new, cfm_new) -> dict:
    """Out-of-sample effects on the training rows and effects on X_new of ``EXTRA_CANDIDATES``
    (the T-learner is the estimator's, as ``final_stage="blend_tl"`` uses it); ``stages`` is
    the estimator's fitted :class:`skcfm.final_stage_models.FinalStage`."""
    mu0, mu1 = nuisances.cfm_
    tl_train = stages.out_of_sample_effects("tl", X, T, Y, nuisances)
    tl_new = stages.stage_effects("tl", X_new)
    dr_train = stages.out_of_sample_effects("dr", X, T, Y, nuisances)
    dr_new = stages.stage_effects("dr", X_new)
    cfm_train = mu1 - mu0
    return {"tl": (tl_train, tl_new), "blend_tl": ((cfm_train + tl_train) / 2, (cfm_new + tl_new) / 2),
            "blend_dr": ((cfm_train + dr_train) / 2, (cfm_new + dr_new) / 2)}


def scores(effects: dict, T, Y, e, mu0, mu1, tau) -> dict:
    """sqrt(PEHE), mean DR-loss and z against the CFM of each candidate in ``effects``
    (name to (training-row effects, test-row effects))."""
    cfm_loss = dr_losses(T, Y, e, mu0, mu1, mu1 - mu0)
    row = {}
    for name, (train, new) in effects.items():
        loss = dr_losses(T, Y, e, mu0, mu1, train)
        row |= {f"sqrt_pehe_{name}": pehe(new, tau), f"dr_loss_{name}": float(loss.mean()),
                f"dr_loss_z_{name}": paired_z(loss, cfm_loss)}
    return row


def evaluate(dataset: str, i: int, data_home=None, members: int | str = MEMBERS,
             save_effects: Path | None = None) -> dict:
    X, T, Y, X_new, tau = LOADERS[dataset](i, data_home)
    T = T.astype(int)
    pam = unconfoundedness_pam([f"x{j}" for j in range(X.shape[1])], treatment="T", outcome="Y")
    start = time.perf_counter()
    est = CFMCateEstimator(final_stage="auto", n_estimators=members, random_state=i).fit(X, T, Y, ancestors=pam)
    cate = est.effect(X_new)
    elapsed = time.perf_counter() - start
    nuisances, stages = est._doubly_robust, est._final_stage
    e, (mu0, mu1) = nuisances.propensity_, nuisances.cfm_
    oob = stages.out_of_sample_effects("causal_forest", X, T, Y, nuisances)
    dr_train = stages.out_of_sample_effects("dr", X, T, Y, nuisances)
    m = e * mu1 + (1 - e) * mu0
    r_loss = lambda effects: ((Y - m) - effects * (T - e)) ** 2  # noqa: E731
    choice = est.final_stage_choice_
    cfm_new = est._member_effects(X_new, 0, 1, cfm_only=True).mean(axis=0)
    dr_new = stages.stage_effects("dr", X_new)
    cf_new = stages.stage_effects("causal_forest", X_new)
    extra = extra_candidates(stages, X, T, Y, nuisances, X_new, cfm_new)
    if save_effects is not None:
        arrays = {f"{name}_train": train for name, (train, _) in extra.items()}
        arrays |= {f"{name}_test": new for name, (_, new) in extra.items()}
        save_effects.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(save_effects / f"{dataset}_{i}.npz", T=T, Y=Y, e=e, mu0=mu0, mu1=mu1, tau=tau,
                            cfm_test=cfm_new, dr_train=dr_train, dr_test=dr_new,
                            causal_forest_train=oob, causal_forest_test=cf_new, **arrays)
    forests = scores({"causal_forest": (oob, cf_new), "dr": (dr_train, dr_new)},
                     T, Y, e, mu0, mu1, tau)
    forests["dr_loss_z"] = forests.pop("dr_loss_z_causal_forest")  # the column's name in earlier rows
    return {
        "dataset": dataset, "realization": i, "selection": i in SELECTION.get(dataset, ()),
        "chosen": choice.chosen, "clipped_share": choice.clipped_share,
        "sqrt_pehe_cfm": pehe(cfm_new, tau),
        "sqrt_pehe_chosen": pehe(cate, tau),
        # scored here, not read from the choice: where the overlap gate decides, the estimator scores only the blend
        "dr_loss_cfm": float(dr_losses(T, Y, e, mu0, mu1, mu1 - mu0).mean()),
        **forests,
        "r_loss_z": paired_z(r_loss(oob), r_loss(mu1 - mu0)),
        **scores(extra, T, Y, e, mu0, mu1, tau),
        "members": str(members), "time_s": elapsed,
    }


def choice_at(row: pd.Series, bar: float, candidates=CANDIDATES) -> str:
    """The candidate chosen for ``row`` when an alternative must have ``z < bar``."""
    z = {name: row["dr_loss_z" if name == "causal_forest" else f"dr_loss_z_{name}"] for name in candidates}
    passing = [name for name in z if z[name] < bar]
    return min(passing, key=lambda name: row[f"dr_loss_{name}"]) if passing else "cfm"


def bar_sensitivity(frame: pd.DataFrame, bars=(-1.96, -1.645, -1.28, -0.5, 0.0),
                    candidates=CANDIDATES) -> pd.DataFrame:
    """Mean sqrt(PEHE) of the chosen final stage per (dataset, members, selection) and bar,
    over the rows that record every candidate (rows with no ``selection`` column are
    selection rows)."""
    frame = frame.dropna(subset=[f"sqrt_pehe_{name}" for name in candidates])
    if "selection" not in frame:
        frame = frame.assign(selection=True)
    table = {}
    for bar in bars:
        chosen = frame.apply(lambda row, bar=bar: row[f"sqrt_pehe_{choice_at(row, bar, candidates)}"], axis=1)
        table[f"bar {bar:g}"] = chosen.groupby([frame["dataset"], frame["members"], frame["selection"]]).mean()
    return pd.DataFrame(table)


def read_rows(path: Path) -> pd.DataFrame:
    """The recorded rows; rows without a ``selection`` value are selection rows."""
    frame = pd.read_csv(path, dtype={"members": str})
    if "selection" not in frame:
        frame["selection"] = True
    frame["selection"] = frame["selection"].fillna(True).astype(bool)
    return frame


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["ihdp", "psid", "cps", "acic_like"],
                        choices=sorted(LOADERS))
    parser.add_argument("--realizations", nargs="+", default=None, metavar="I or I-J",
                        help="realizations to fit (default: each data set's selection realizations)")
    parser.add_argument("--save-effects", type=Path, default=None, metavar="DIR",
                        help="also write each realization's per-row effects and nuisances to DIR")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "final_stage_choice.csv")
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--members", type=lambda v: v if v == "auto" else int(v), default=MEMBERS,
                        help=f"members per region, or auto (default {MEMBERS})")
    parser.add_argument("--bars", action="store_true",
                        help="fit nothing; print the choice's mean sqrt(PEHE) under other z bars")
    args = parser.parse_args(argv)
    if args.bars:
        frame = read_rows(args.out)
        print(bar_sensitivity(frame).round(4).to_string())
        if all(f"sqrt_pehe_{name}" in frame for name in EXTRA_CANDIDATES):
            recorded = frame.dropna(subset=[f"sqrt_pehe_{name}" for name in EXTRA_CANDIDATES])
            means = recorded.groupby(["dataset", "members", "selection"])[
                [f"sqrt_pehe_{name}" for name in ("cfm", *CANDIDATES, *EXTRA_CANDIDATES)]].mean()
            print("\nRows with the extra candidates: each candidate alone\n" + means.round(4).to_string())
            for extra in ((), ("tl",), ("blend_tl",), ("blend_tl", "blend_dr"), EXTRA_CANDIDATES):
                print(f"\nchosen among the CFM, {', '.join(CANDIDATES + extra)}")
                print(bar_sensitivity(recorded, bars=(-1.645, 0.0), candidates=CANDIDATES + extra)
                      .round(4).to_string())
        return frame
    realizations = parse_realizations(args.realizations) if args.realizations else None
    data_home = args.data_home or default_data_home()
    rows = []
    for dataset in args.datasets:
        for i in realizations or SELECTION[dataset]:
            rows.append(evaluate(dataset, i, data_home, args.members, args.save_effects))
            print(pd.DataFrame(rows[-1:]).to_string(header=len(rows) == 1, index=False), flush=True)
            # written after every realization, so a stopped run keeps what it finished
            add_rows(args.out, pd.DataFrame(rows[-1:]), key=("dataset", "realization", "members")).to_csv(
                args.out, index=False)
    frame = read_rows(args.out)
    groups = frame.groupby(["dataset", "members", "selection"])
    summary = groups[["sqrt_pehe_cfm", "sqrt_pehe_causal_forest", "sqrt_pehe_chosen", "sqrt_pehe_dr"]].mean()
    for stage in ("causal_forest", "dr"):
        summary[f"{stage}_chosen"] = groups["chosen"].apply(lambda c, s=stage: (c == s).sum())
    print(summary.round(3).to_string())
    return frame


if __name__ == "__main__":
    main()
