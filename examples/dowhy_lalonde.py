"""DoWhy workflow on LaLonde: model the graph, identify, estimate with skcfm, refute.

The RealCause LaLonde samples keep the real covariates and treatment of the job-training
study (PSID or CPS controls) and simulate the outcome, so the true effects are known.

    python examples/dowhy_lalonde.py                  # shipped model, PSID sample 0
    python examples/dowhy_lalonde.py --quick          # 2 ensemble members, 2 runs per refuter
    python examples/dowhy_lalonde.py --model my.safetensors --group cps

Data: ``$SKCFM_DATA`` or ``../shared/data`` beside the repository, holding
``realcause/lalonde_<group>_sample<k>.csv.gz``.
"""

import argparse
import logging
import os
import sys
import time
import warnings
from pathlib import Path

from dowhy import CausalModel

from skcfm import load_model
from skcfm.datasets import load_lalonde
from skcfm.dowhy import dowhy_method_name

COVARIATES = ["age", "education", "black", "hispanic", "married", "nodegree", "re74", "re75"]
# every covariate confounds training (t) and 1978 earnings (y); 1974 earnings precede
# 1975 earnings. Pairs of covariates without an edge stay unknown to the model.
GRAPH = (
    "digraph {"
    + " ".join(f"{c} -> t; {c} -> y;" for c in COVARIATES)
    + " t -> y; re74 -> re75; }"
)
REFUTERS = {
    "placebo_treatment_refuter": {"placebo_type": "permute"},
    "random_common_cause": {},
    "data_subset_refuter": {"subset_fraction": 0.8},
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="weights (.safetensors with its .json card); default: shipped")
    parser.add_argument("--group", choices=["psid", "cps"], default="psid", help="control group (default psid)")
    parser.add_argument("--sample", type=int, default=0, help="RealCause sample 0-99 (default 0)")
    parser.add_argument("--quick", action="store_true", help="n_estimators=2 and 2 runs per refuter")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def main():
    args = parse_args()
    logging.getLogger("dowhy").setLevel(logging.CRITICAL)  # DoWhy logs a missing pygraphviz as an error
    warnings.filterwarnings("ignore", "divide by zero", RuntimeWarning)  # DoWhy's z-score when runs agree
    data_home = os.environ.get("SKCFM_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data"
    try:
        lalonde = load_lalonde(args.sample, group=args.group, as_frame=True, data_home=data_home)
    except FileNotFoundError as error:
        sys.exit(f"LaLonde data not found ({error}); set SKCFM_DATA to the folder holding realcause/")
    try:
        load_model(args.model)  # fail early; cached for the fits below
    except FileNotFoundError as error:
        sys.exit(f"model weights not found ({error}); pass --model PATH")

    frame = lalonde.frame.astype({"t": int})  # binary treatment: DoWhy's placebo stays binary
    true_ate = lalonde.truth.ite.mean()
    print(f"LaLonde {args.group.upper()} sample {args.sample}: {len(frame)} rows, {frame['t'].sum()} treated")

    model = CausalModel(data=frame, treatment="t", outcome="y", graph=GRAPH)
    estimand = model.identify_effect(proceed_when_unidentifiable=True)
    print(f"adjustment set: {sorted(estimand.get_adjustment_set())}")

    method_params = {
        "init_params": {"model": args.model, "n_estimators": 2 if args.quick else 4, "random_state": args.seed},
        "fit_params": {},
    }
    start = time.perf_counter()
    estimate = model.estimate_effect(estimand, method_name=dowhy_method_name(), method_params=method_params)
    naive = frame.loc[frame["t"] == 1, "y"].mean() - frame.loc[frame["t"] == 0, "y"].mean()
    print(f"\nskcfm estimate of the ATE: {estimate.value:10.1f}   ({time.perf_counter() - start:.1f} s)")
    print(f"true ATE (mean of ite):    {true_ate:10.1f}")
    print(f"naive difference in means: {naive:10.1f}")

    num_simulations = 2 if args.quick else 5  # each run refits and predicts every row
    for name, options in REFUTERS.items():
        start = time.perf_counter()
        refutation = model.refute_estimate(
            estimand, estimate, method_name=name, num_simulations=num_simulations, random_state=args.seed, **options
        )
        print(f"\n{refutation}({num_simulations} runs, {time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
