"""Pipeline + cross-validation: GraphConditionedCFMRegressor with the PAM routed as metadata.

GraphConditionedCFMRegressor predicts y under do(T = t) for the treatment column of X. Here
it sits after a StandardScaler in a Pipeline (harmless: the regressor standardises its
inputs itself), is scored by cross_val_score, and its n_estimators is tuned by GridSearchCV.
The partial ancestor matrix (PAM) reaches the regressor's fit through scikit-learn's
metadata routing. It describes variables, not rows, so every fold gets it whole.

Run: python examples/pipeline_cv.py [--model PATH] [--quick]
"""

import argparse

import numpy as np
import sklearn
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skcfm import GraphConditionedCFMRegressor, unconfoundedness_pam
from skcfm.datasets import make_confounded_treatment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="a .safetensors file; default: the shipped model")
    parser.add_argument("--quick", action="store_true", help="fewer rows, folds and ensemble members")
    args = parser.parse_args()
    # the full run fits 3 + 3 * 5 + 4 = 22 ensemble members on 400 rows: about a minute on two cores
    n_samples, n_folds, grid = (300, 2, [1, 2]) if args.quick else (600, 3, [1, 4])

    # X holds the covariates and the treatment column "t"; the regressor intervenes on "t"
    data = make_confounded_treatment(n_samples, random_state=0, as_frame=True)
    X = data.data.assign(t=data.treatment)
    y = data.outcome
    pam = unconfoundedness_pam(data.data.columns, treatment="t", outcome=y.name)  # labelled by name

    sklearn.set_config(enable_metadata_routing=True)
    regressor = GraphConditionedCFMRegressor(treatment="t", model=args.model, n_estimators=grid[0], random_state=0)
    regressor.set_fit_request(ancestors=True)  # fit(..., ancestors=pam) is routed to this step
    # pandas output keeps the column names, so "t" and the PAM's labels still match after scaling
    pipe = make_pipeline(StandardScaler(), regressor).set_output(transform="pandas")

    folds = KFold(n_folds, shuffle=True, random_state=0)
    scores = cross_val_score(pipe, X, y, cv=folds, params={"ancestors": pam})
    print(f"cross_val_score R^2 over {n_folds} folds: {np.round(scores, 3).tolist()} (mean {scores.mean():.3f})")

    search = GridSearchCV(pipe, {"graphconditionedcfmregressor__n_estimators": grid}, cv=folds)
    search.fit(X, y, ancestors=pam)
    for n, score in zip(grid, search.cv_results_["mean_test_score"], strict=True):
        print(f"GridSearchCV n_estimators={n}: mean R^2 {score:.3f}")
    print(f"best n_estimators: {search.best_params_['graphconditionedcfmregressor__n_estimators']}")

    # the refitted pipeline predicts interventions: set the treatment column, compare
    treated, control = X.assign(t=1), X.assign(t=0)
    cate = search.predict(treated) - search.predict(control)
    print(f"ATE from do(t=1) - do(t=0) predictions: {cate.mean():.3f} (true ATE {data.truth.ite.mean():.3f})")
    sklearn.set_config(enable_metadata_routing=False)


if __name__ == "__main__":
    main()
