"""Quickstart: estimate a treatment effect with the shipped causal foundation model.

Simulates an observational study with confounding (skcfm.datasets.make_confounded_treatment),
tells the model what is known about the causal structure (unconfoundedness: every covariate
may cause treatment and outcome, the treatment may cause the outcome), and prints the ATE
with its doubly robust 95% interval beside the population ATE it states (and the mean
effect over the sample's rows, which differs from it by sampling), and a few conditional
effects beside the truth.

Run: python examples/quickstart.py [--n-samples 1000] [--model PATH]
"""

import argparse

import numpy as np

from skcfm import CFMCateEstimator, unconfoundedness_pam
from skcfm.datasets import make_confounded_treatment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=1000)
    parser.add_argument("--model", default=None, help="a .safetensors file; default: the shipped model")
    args = parser.parse_args()

    data = make_confounded_treatment(args.n_samples, random_state=0, as_frame=True)
    X, T, Y = data.data, data.treatment, data.outcome
    pam = unconfoundedness_pam(X.columns, treatment=T.name, outcome=Y.name)

    est = CFMCateEstimator(model=args.model, random_state=0).fit(X, T, Y, ancestors=pam)
    lo, hi = est.ate_interval()
    naive = Y[T == 1].mean() - Y[T == 0].mean()
    print(f"ATE (hybrid AIPW): {est.ate():.3f}  95% interval [{lo:.3f}, {hi:.3f}] for the population ATE")
    print(f"population ATE:    {data.truth.ate:.3f}   mean effect over these rows: {data.truth.ite.mean():.3f}")
    print(f"naive difference in means: {naive:.3f}")
    print("CATE for the first five rows (estimate | truth):")
    for estimate, truth in zip(est.effect(X.iloc[:5]), data.truth.ite[:5], strict=True):
        print(f"  {estimate:7.3f} | {truth:7.3f}")
    pehe = np.sqrt(np.mean((est.effect(X) - data.truth.ite) ** 2))
    print(f"sqrt(PEHE) over all rows: {pehe:.3f}")


if __name__ == "__main__":
    main()
