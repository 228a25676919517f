"""Dose-response: the effect of a continuous treatment, with its plot.

Simulates an observational study with a continuous, confounded treatment
(skcfm.datasets.make_confounded_treatment(treatment="continuous")), fits CFMCateEstimator
with the unconfoundedness PAM, and estimates E[Y | do(T = t), x] on a grid of doses. Prints
the average curve beside the true one and saves a plot of both (the estimate with its
ensemble band, the truth dashed).

Run: python examples/dose_response.py [--out dose_response.png] [--model PATH] [--quick]
"""

import argparse

import matplotlib

matplotlib.use("Agg")  # write files only; no display needed

import matplotlib.pyplot as plt
import numpy as np

from skcfm import CFMCateEstimator, unconfoundedness_pam
from skcfm.datasets import make_confounded_treatment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="dose_response.png", help="where to save the plot (PNG)")
    parser.add_argument("--model", default=None, help="a .safetensors file; default: the shipped model")
    parser.add_argument("--quick", action="store_true", help="fewer rows, ensemble members and doses")
    args = parser.parse_args()
    n_samples, n_estimators, n_doses = (300, 2, 7) if args.quick else (1000, 4, 13)

    data = make_confounded_treatment(n_samples, treatment="continuous", random_state=0, as_frame=True)
    X, T, Y = data.data, data.treatment, data.outcome
    pam = unconfoundedness_pam(X.columns, treatment=T.name, outcome=Y.name)
    est = CFMCateEstimator(model=args.model, n_estimators=n_estimators, random_state=0)
    est.fit(X, T, Y, ancestors=pam)
    print(f"treatment kind: {est.treatment_kind_}")

    # doses inside the observed range: outside it the model extrapolates
    t_grid = np.linspace(*np.quantile(T, [0.05, 0.95]), n_doses)
    curves = est.dose_response(X, t_grid)  # (n_samples, n_doses): one curve per row
    estimate = curves.mean(axis=0)
    truth = np.array([data.truth.response(X, np.full(len(X), t)).mean() for t in t_grid])
    print("average dose-response E[Y | do(T = t)] (estimate | truth):")
    for t, e, y in zip(t_grid, estimate, truth, strict=True):
        print(f"  t = {t:6.2f}: {e:7.3f} | {y:7.3f}")
    print(f"mean absolute error of the average curve: {np.abs(estimate - truth).mean():.3f}")

    ax = est.plot_dose_response(X, t_grid)
    ax.plot(t_grid, truth, color="k", linestyle="--", label="true E[Y | do(T = t)]")
    ax.legend()
    ax.figure.tight_layout()
    ax.figure.savefig(args.out, dpi=100)
    plt.close(ax.figure)
    print(f"saved the dose-response plot to {args.out}")


if __name__ == "__main__":
    main()
