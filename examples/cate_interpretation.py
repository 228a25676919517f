"""CATE interpretation: summarise CFMCateEstimator's effects with EconML's tree interpreters.

Fits CFMCateEstimator on a simulated study with a binary, confounded treatment whose effect
grows with x2 (tau = 1 + 0.5 * x2), then asks EconML's SingleTreeCateInterpreter for a
shallow tree of the estimated CATEs (which covariates drive the effect) and
SingleTreePolicyInterpreter for a treatment policy (whom to treat at a cost per treated
unit). Prints both trees as text and saves them side by side as a PNG.

Run: python examples/cate_interpretation.py [--out cate_trees.png] [--cost 1.0] [--model PATH] [--quick]
"""

import argparse

import matplotlib

matplotlib.use("Agg")  # write files only; no display needed

import matplotlib.pyplot as plt
from econml.cate_interpreter import SingleTreeCateInterpreter, SingleTreePolicyInterpreter
from sklearn.tree import export_text

from skcfm import CFMCateEstimator, unconfoundedness_pam
from skcfm.datasets import make_confounded_treatment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="cate_trees.png", help="where to save the two trees (PNG)")
    parser.add_argument("--cost", type=float, default=1.0, help="cost of treating one unit, in units of Y")
    parser.add_argument("--model", default=None, help="a .safetensors file; default: the shipped model")
    parser.add_argument("--quick", action="store_true", help="fewer rows and ensemble members")
    args = parser.parse_args()
    n_samples, n_estimators = (300, 2) if args.quick else (1000, 4)

    data = make_confounded_treatment(n_samples, random_state=0, as_frame=True)
    X, T, Y = data.data, data.treatment, data.outcome
    pam = unconfoundedness_pam(X.columns, treatment=T.name, outcome=Y.name)
    est = CFMCateEstimator(model=args.model, n_estimators=n_estimators, random_state=0)
    est.fit(X, T, Y, ancestors=pam)
    names = list(X.columns)

    cate_tree = SingleTreeCateInterpreter(max_depth=2, min_samples_leaf=max(10, n_samples // 20))
    cate_tree.interpret(est, X)
    print("CATE tree (value = mean estimated effect in the leaf):")
    print(export_text(cate_tree.tree_model_, feature_names=names, decimals=3))

    policy = SingleTreePolicyInterpreter(max_depth=2, min_samples_leaf=max(10, n_samples // 20), random_state=0)
    policy.interpret(est, X, sample_treatment_costs=args.cost)
    treat = policy.treat(X)
    print(f"policy tree (class 1 = treat, 0 = do not; treating costs {args.cost}):")
    print(export_text(policy.tree_model_, feature_names=names))
    gain = (data.truth.ite - args.cost)[treat == 1].sum() / n_samples
    print(f"policy treats {treat.mean():.0%} of units; true net gain per unit {gain:.3f}")

    fig, axes = plt.subplots(1, 2, figsize=(14, 5))
    cate_tree.plot(ax=axes[0], title="CATE tree", feature_names=names, fontsize=9)
    policy.plot(ax=axes[1], title="policy tree\n", feature_names=names, treatment_names=["control", "treat"],
                fontsize=9)
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    plt.close(fig)
    print(f"saved the trees to {args.out}")


if __name__ == "__main__":
    main()
