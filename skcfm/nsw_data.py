"""The NSW experimental sample (LaLonde; Dehejia & Wahba), shipped inside the package.

Small enough to ship in ``skcfm/data``, so examples run offline; :func:`load_nsw` reads it.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

from .data_bunch import make_bunch

_NSW_COVARIATES = ["age", "educ", "black", "hisp", "married", "nodegree", "re74", "re75"]
_NSW_DESCR = """\
NSW experimental sample (LaLonde 1986; Dehejia & Wahba 1999)
-----------------------------------------------------------
445 men of the National Supported Work Demonstration with 1974 earnings recorded; 185
were randomly assigned to job training (``treat`` = 1), 260 to the control group. 8
covariates measured before assignment: age, educ (years of schooling), black, hisp
(Hispanic), married, nodegree (no high-school degree), re74 and re75 (real earnings in
1974 and 1975, US dollars). Outcome: re78, real earnings in 1978. Treatment was
randomized, so the difference in means, about 1,794 dollars, is the experimental
benchmark for the average effect of training. Shipped from the ``causaldata`` package
(MIT license, Nick Huntington-Klein); see ``skcfm/data/README.md``.
"""


def load_nsw(*, as_frame: bool = False, return_X_y: bool = False):
    """Load the NSW experimental sample (Dehejia-Wahba subsample of LaLonde's data).

    The data ship with the package, so this works offline. Treatment was randomized:
    the difference in mean 1978 earnings between trainees and controls (about 1,794
    dollars) is the benchmark an observational estimate is judged against, and an
    adjusted estimate should land near it.

    Parameters
    ----------
    as_frame : bool, default=False
        If True, ``data`` is a DataFrame, ``treatment`` and ``outcome`` are Series, and
        ``frame`` holds the covariates, ``treat`` and ``re78`` together.
    return_X_y : bool, default=False
        If True, return ``(data, treatment, outcome)`` instead of a Bunch.

    Returns
    -------
    bunch : sklearn.utils.Bunch
        data : ndarray of shape (445, 8) or DataFrame
            age, educ, black, hisp, married, nodegree, re74, re75 (see ``DESCR``).
        treatment : ndarray of shape (445,) or Series
            Job training ``treat``, 0 or 1 (185 treated).
        outcome : ndarray of shape (445,) or Series
            1978 earnings ``re78`` in dollars.
        truth : Bunch
            Empty: the individual effects of real data are unknown.
        frame : DataFrame or None
            data, treatment and outcome together when ``as_frame=True``.
        feature_names : list of str
        experimental_ate : float
            Difference in mean ``re78`` between the randomized arms.
        DESCR : str
    (data, treatment, outcome) : tuple
        When ``return_X_y=True``.

    Examples
    --------
    >>> from skcfm.datasets import load_nsw
    >>> nsw = load_nsw(as_frame=True)
    >>> nsw.frame.shape
    (445, 10)
    >>> round(nsw.experimental_ate)
    1794
    """
    df = pd.read_csv(resources.files("skcfm").joinpath("data", "nsw.csv"))
    x = df[_NSW_COVARIATES]
    treatment, outcome = df["treat"].to_numpy(), df["re78"].to_numpy(dtype=float)
    experimental_ate = float(outcome[treatment == 1].mean() - outcome[treatment == 0].mean())
    bunch = make_bunch(
        x if as_frame else x.to_numpy(dtype=float), list(_NSW_COVARIATES),
        treatment, "treat", outcome, "re78", {},
        as_frame=as_frame, DESCR=_NSW_DESCR, experimental_ate=experimental_ate,
    )
    if return_X_y:
        return bunch.data, bunch.treatment, bunch.outcome
    return bunch
