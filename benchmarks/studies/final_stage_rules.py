"""Score rules for ``final_stage="auto"`` offline, from the per-row evidence of
``final_stage_choice.py --save-effects DIR``.

Every rule sees only what the estimator sees in ``fit``: the training rows' treatment and
outcome, the cross-fitted nuisances and each candidate's out-of-sample effects there. It
returns the effects it would report on the test rows, scored by sqrt(PEHE) against the
true effects. Rules:

- ``lowest(cands)``: the candidate with the lowest mean DR-loss (the estimator's rule, with
  no significance bar): ``lowest(cfm, causal_forest, dr)``, the rule without the blends, is
  the baseline here, and ``lowest(cfm, causal_forest, dr, blend_tl, blend_dr)`` is ``auto``'s
  choice where overlap is not poor (``auto`` itself is the first overlap-aware rule below);
- ``stack(cands)``: convex weights over the candidates that minimise the mean DR-loss of the
  weighted training-row effects (linear stacking on the doubly robust pseudo-outcome, as in
  Han and Wu, "Ensemble method for estimating individualized treatment effects", 2022),
  applied to the test-row effects;
- ``trimmed(cands)``: like ``lowest`` but the DR-loss averages only the rows whose
  propensity lies inside the clip bounds (0.01, 0.99): at the bound the pseudo-outcome's
  inverse weights are capped and its loss says little about the effects;
- ``if_clipped(share, rule_a, rule_b)``: ``rule_a`` when more than ``share`` of the training
  rows have a propensity at the clip bound, else ``rule_b``. A bare candidate name is
  ``lowest(name)``.

The two overlap-aware rules were registered before the PSID 10-19 and CPS 10-13 evidence
they are chosen on was fitted, so that evidence tests them rather than suggests them; the
registered pair is
``if_clipped(0.5, blend_tl, lowest(cfm, causal_forest, dr, blend_tl, blend_dr))`` and
``trimmed(cfm, causal_forest, dr, blend_tl, blend_dr)``. Where overlap is poor no loss on
the training rows can tell which extrapolation is right; the blend with a T-learner
hedges between the CFM's extrapolation and a forest's flat one.

Candidates: ``cfm``, ``causal_forest``, ``dr`` (the estimator's), ``tl`` (a forest
T-learner), ``blend_tl`` and ``blend_dr`` (half CFM, half the other).

Run: python benchmarks/studies/final_stage_rules.py runs/fsc/effects [--baseline "lowest(cfm, causal_forest, dr)"]
[--rules R ...] [--out results/final_stage_rules.csv]
Prints, per data set and selection / held-out realizations, each rule's mean sqrt(PEHE)
and its paired difference to the baseline rule (mean +- SEM, better / worse), and writes
the per-realization scores to ``--out``. ``python benchmarks/studies/final_stage_rules.py
--scores results/final_stage_rules.csv`` prints the summary from those scores (the saved
evidence is large and stays out of the repository).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parents[1]  # benchmarks/: the harness modules and results/
sys.path.insert(0, str(HERE.parent))

from skcfm.aipw import aipw_scores  # noqa: E402
from skcfm.final_stages import stacking_weights  # noqa: E402
from skcfm.nuisances import PROPENSITY_CLIP  # noqa: E402

SELECTION = {"ihdp": range(10, 30), "psid": range(10, 20), "cps": range(10, 14), "acic_like": range(10)}
BASELINE = "lowest(cfm, causal_forest, dr)"
RULES = (
    BASELINE,
    "lowest(cfm, causal_forest, dr, blend_tl, blend_dr)",  # auto where overlap is not poor
    "lowest(cfm, causal_forest, dr, blend_dr)",
    "stack(cfm, causal_forest, dr)",
    "stack(cfm, causal_forest, dr, tl)",
    # each candidate alone, always
    *(f"lowest({name})" for name in ("cfm", "causal_forest", "dr", "tl", "blend_tl", "blend_dr")),
    # overlap-aware, registered before the selection evidence was fitted
    "if_clipped(0.5, blend_tl, lowest(cfm, causal_forest, dr, blend_tl, blend_dr))",
    "trimmed(cfm, causal_forest, dr, blend_tl, blend_dr)",
)


def at_clip_bound(propensity: np.ndarray) -> np.ndarray:
    """Rows whose propensity sits at the clip bound (within float rounding), boolean (n,)."""
    return np.minimum(propensity, 1 - propensity) <= PROPENSITY_CLIP * (1 + 1e-6)


def split_arguments(text: str) -> list[str]:
    """Split ``text`` at the commas outside parentheses, stripped."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    return [*parts, text[start:].strip()]


def candidate_effects(evidence, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(training-row out-of-sample effects, test-row effects) of candidate ``name``."""
    if name == "cfm":
        return evidence["mu1"] - evidence["mu0"], evidence["cfm_test"]
    return evidence[f"{name}_train"], evidence[f"{name}_test"]


def apply_rule(rule: str, evidence) -> tuple[np.ndarray, str]:
    """The rule's test-row effects and a label of what it chose (a name, or the weights)."""
    if re.fullmatch(r"\w+", rule):
        rule = f"lowest({rule})"
    match = re.fullmatch(r"(lowest|stack|trimmed|if_clipped)\((.*)\)", rule)
    if match is None:
        raise ValueError(f"rule {rule!r}; expected lowest(a, b, ...), stack(a, b, ...), trimmed(a, b, ...) "
                         "or if_clipped(share, rule_a, rule_b)")
    kind, names = match.group(1), split_arguments(match.group(2))
    if kind == "if_clipped":
        share, rule_a, rule_b = names
        return apply_rule(rule_a if at_clip_bound(evidence["e"]).mean() > float(share) else rule_b, evidence)
    effects = {name: candidate_effects(evidence, name) for name in names}
    phi = aipw_scores(evidence["Y"], evidence["T"], evidence["mu0"], evidence["mu1"], evidence["e"])
    if kind in ("lowest", "trimmed"):
        rows = ~at_clip_bound(evidence["e"]) if kind == "trimmed" else np.ones(len(phi), bool)
        if not rows.any():  # every row at the bound: nothing to trim to
            rows[:] = True
        losses = {name: np.mean((phi[rows] - train[rows]) ** 2) for name, (train, _) in effects.items()}
        best = min(losses, key=losses.get)  # a tie keeps the first, the CFM
        return effects[best][1], best
    weights = stacking_weights(np.column_stack([train for train, _ in effects.values()]), phi)
    test = np.column_stack([new for _, new in effects.values()]) @ weights
    return test, " ".join(f"{w:.2f}" for w in weights)


def score_rules(folder: Path, rules=RULES) -> pd.DataFrame:
    """One row per (realization file, rule): sqrt(PEHE) on the test rows and the choice."""
    rows = []
    for path in sorted(folder.glob("*.npz")):
        dataset, _, index = path.stem.rpartition("_")
        with np.load(path) as evidence:
            for rule in rules:
                test, chosen = apply_rule(rule, evidence)
                rows.append({"dataset": dataset, "realization": int(index),
                             "selection": int(index) in SELECTION.get(dataset, ()), "rule": rule,
                             "sqrt_pehe": float(np.sqrt(np.mean((test - evidence["tau"]) ** 2))), "chosen": chosen})
    return pd.DataFrame(rows)


def summarise(scores: pd.DataFrame, baseline: str = BASELINE) -> pd.DataFrame:
    """Mean sqrt(PEHE) per (dataset, selection, rule) and the paired difference to ``baseline``."""
    wide = scores.pivot_table(index=["dataset", "selection", "realization"], columns="rule", values="sqrt_pehe")
    diff = wide.sub(wide[baseline], axis=0)
    groups = ["dataset", "selection"]
    table = wide.groupby(level=groups).mean().stack().rename("sqrt_pehe").to_frame()
    table["n"] = wide.groupby(level=groups).count().stack()
    table["diff"] = diff.groupby(level=groups).mean().stack()
    table["diff_sem"] = diff.groupby(level=groups).sem().stack()
    table["better"] = (diff < 0).groupby(level=groups).sum().stack()
    table["worse"] = (diff > 0).groupby(level=groups).sum().stack()
    return table


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, nargs="?", help="the --save-effects folder of final_stage_choice.py")
    parser.add_argument("--baseline", default=BASELINE)
    parser.add_argument("--rules", nargs="+", default=list(RULES))
    parser.add_argument("--out", type=Path, default=HERE / "results" / "final_stage_rules.csv",
                        help="where the per-realization scores go (default: %(default)s)")
    parser.add_argument("--scores", type=Path, default=None,
                        help="summarise these recorded scores instead of scoring a folder")
    args = parser.parse_args(argv)
    if (args.folder is None) == (args.scores is None):
        parser.error("give the evidence folder or --scores CSV, not both")
    if args.scores is not None:
        scores = pd.read_csv(args.scores)
    else:
        scores = score_rules(args.folder, list(dict.fromkeys([args.baseline, *args.rules])))
        scores.to_csv(args.out, index=False)
    table = summarise(scores, args.baseline)
    with pd.option_context("display.width", 200, "display.max_colwidth", 60):
        print(table.round(4).to_string())
    return table


if __name__ == "__main__":
    main()
