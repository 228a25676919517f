"""DoWhy workflow on the NSW job-training experiment: model the graph, identify, estimate with skcfm, refute.

The NSW sample (LaLonde; Dehejia & Wahba) ships with skcfm, so this runs offline. Training
was randomized, so the difference in mean 1978 earnings between trainees and controls
(about 1,794 dollars) is the benchmark the adjusted estimate should land near.

    python examples/dowhy_lalonde.py                       # estimate + placebo refuter (25 runs), ~30 s
    python examples/dowhy_lalonde.py --refuters placebo_treatment_refuter random_common_cause \\
        data_subset_refuter --simulations 20               # all three refuters, several minutes
    python examples/dowhy_lalonde.py --quick               # smoke run: 3 simulations, no p-values

The estimate is the estimator's doubly robust ATE (hybrid AIPW) with its 95% interval.
To finish in about a minute on two CPU cores, the ensemble has one member and the doubly
robust score is cross-fitted over two folds (``n_estimators=1, cv=2``; the defaults read
the data more often and take longer): every refuter simulation refits the model, so the
refuters cost one fit per simulation.
"""

import argparse
import logging
import time
import warnings

from dowhy import CausalModel

from skcfm import config_context, load_model
from skcfm.datasets import load_nsw
from skcfm.dowhy import dowhy_method_name

COVARIATES = ["age", "educ", "black", "hisp", "married", "nodegree", "re74", "re75"]
# every covariate confounds training (treat) and 1978 earnings (re78); 1974 earnings precede
# 1975 earnings. Pairs of covariates without an edge stay unknown to the model.
GRAPH = "digraph {" + " ".join(f"{c} -> treat; {c} -> re78;" for c in COVARIATES) + " treat -> re78; re74 -> re75; }"
REFUTERS = {
    "placebo_treatment_refuter": {"placebo_type": "permute"},
    "random_common_cause": {},
    "data_subset_refuter": {"subset_fraction": 0.8},
}
# how to read DoWhy's p-value (the estimate against the refits' effects), below and above 0.05
READINGS = {
    "placebo_treatment_refuter": (
        "the placebo's effects differ from the estimate, as a treatment with no effect should",
        "the placebo's effects are not told apart from the estimate: at this sample size the test has little power "
        "(see the interval's width), or the estimate is not an effect of training",
    ),
}
REFIT_READINGS = (
    "the refits moved the estimate: it is not robust to this change",
    "the refits agree with the estimate, as they should",
)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="weights (.safetensors with its .json card); default: shipped")
    parser.add_argument("--n-estimators", type=int, default=1, help="ensemble members (default 1)")
    parser.add_argument("--cv", type=int, default=2, help="cross-fitting folds of the doubly robust ATE (default 2)")
    parser.add_argument("--refuters", nargs="+", choices=list(REFUTERS), default=["placebo_treatment_refuter"],
                        help="DoWhy refuters to run (default: the placebo treatment)")
    parser.add_argument("--simulations", type=int, default=25, help="refits per refuter (default 25)")
    parser.add_argument("--quick", action="store_true", help="3 simulations per refuter, p-values not printed")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def main():
    args = parse_args()
    logging.getLogger("dowhy").setLevel(logging.CRITICAL)  # DoWhy logs a missing pygraphviz as an error
    load_model(args.model)  # fail early on missing weights; cached for the fits below

    nsw = load_nsw(as_frame=True)
    frame = nsw.frame
    print(f"NSW experimental sample: {len(frame)} men, {frame['treat'].sum()} trained")

    model = CausalModel(data=frame, treatment="treat", outcome="re78", graph=GRAPH)
    estimand = model.identify_effect(proceed_when_unidentifiable=True)
    print(f"adjustment set: {sorted(estimand.get_adjustment_set())}")

    method_params = {
        "graph": model,  # DoWhy gives estimators the estimand, not the graph: the PAM is read from this
        "init_params": {"model": args.model, "n_estimators": args.n_estimators, "cv": args.cv,
                        "random_state": args.seed},
    }
    start = time.perf_counter()
    estimate = model.estimate_effect(estimand, method_name=dowhy_method_name(), method_params=method_params)
    lower, upper = estimate.get_confidence_intervals()
    print(f"\nskcfm doubly robust ATE:      {estimate.value:8.0f}   95% interval [{lower:.0f}, {upper:.0f}]"
          f"   ({time.perf_counter() - start:.1f} s)")
    print(f"experimental benchmark:       {nsw.experimental_ate:8.0f}   (difference in means, randomized)")

    num_simulations = 3 if args.quick else args.simulations
    for name in args.refuters:
        start = time.perf_counter()
        # one progress bar per refit would bury the results: the refuter's refits run quietly
        with warnings.catch_warnings(), config_context(progress=False):
            warnings.filterwarnings("ignore", "divide by zero", RuntimeWarning)  # DoWhy's z-score when refits agree
            refutation = model.refute_estimate(
                estimand, estimate, method_name=name, num_simulations=num_simulations, random_state=args.seed,
                **REFUTERS[name],
            )
        elapsed = time.perf_counter() - start
        print(f"\n{refutation.refutation_type}: new effect {refutation.new_effect:.0f}"
              f"   ({num_simulations} simulations, {elapsed:.1f} s)")
        if args.quick:
            print("  p-value not shown: 3 simulations are too few (run without --quick)")
            continue
        p_value = float(refutation.refutation_result["p_value"])
        small, large = READINGS.get(name, REFIT_READINGS)
        print(f"  p-value {p_value:.3f}: {small if p_value < 0.05 else large}")


if __name__ == "__main__":
    main()
