"""Loaders for the semi-synthetic benchmarks: IHDP-100, ACIC 2016 and RealCause LaLonde.

Each loader reads one realization from a local data folder and returns a
:class:`sklearn.utils.Bunch` in scikit-learn's style. What an estimator may see
(``data``, ``treatment``, ``outcome``) is kept apart from the simulated ground truth
(``truth``: potential outcomes and individual effects), so that benchmark code cannot
hand the truth to a model by accident.

The folder is ``data_home`` if given, else the ``SKCFM_DATA`` environment variable,
else the user cache directory ``platformdirs.user_cache_dir("skcfm")``. It is laid out as::

    ihdp/ihdp_npci_1-100.train.npz
    ihdp/ihdp_npci_1-100.test.npz
    acic2016/x.csv.gz
    acic2016/zymu_{1..10}.csv.gz
    realcause/lalonde_{cps,psid}_sample{0..99}.csv.gz

Uncompressed ``.csv`` files are accepted in place of ``.csv.gz``. The loaders never
download anything; a missing file raises :class:`FileNotFoundError` naming the file,
where it was expected and where to get it. :func:`train_test_split_protocol` splits the
rows as the CFM papers do.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from .data_bunch import make_bunch

_IHDP_FILES = {
    "train": "ihdp_npci_1-100.train.npz",
    "test": "ihdp_npci_1-100.test.npz",
}
_IHDP_SOURCE = {
    "test": (
        "Download it from https://github.com/vdblm/CausalPFN/blob/"
        "4670479fe22e102d1a6e751a43154987aa3ee487/benchmarks/IHDP/ihdp_npci_1-100.test.npz "
        "(first published at fredjo.com; the same file as clinicalml/cfrnet's "
        "data/ihdp_npci_1-100.test.npz)."
    ),
    "train": (
        "The original training file (fredjo.com) is no longer publicly available; the "
        "one skcfm's benchmarks use was rebuilt by replaying the npci simulation "
        "(vdorie/npci, examples/ihdp_sim) on the 747-row CSV files of "
        "https://github.com/claudiashi57/dragonnet/tree/master/dat/ihdp/csv ."
    ),
}
_ACIC_SOURCE = (
    "Download it from https://github.com/BiomedSciAI/causallib/tree/master/causallib/"
    "datasets/data/acic_challenge_2016 (also inside the causallib wheel on PyPI)."
)
_REALCAUSE_SOURCE = (
    "Download it from https://github.com/bradyneal/realcause/tree/master/realcause_datasets ."
)
_ACIC_CATEGORICAL = ["x_2", "x_21", "x_24"]
_LALONDE_COVARIATES = [
    "age", "education", "black", "hispanic", "married", "nodegree", "re74", "re75",
]

_IHDP_DESCR = """\
IHDP-100 (Hill 2011, response surface B; Johansson, Shalit & Sontag 2016)
------------------------------------------------------------------------
747 children of the Infant Health and Development Program (139 treated), 25 covariates
(6 continuous, standardized; 19 binary, column x14 coded 1/2), simulated outcomes.
100 realizations, each split into 672 training and 75 test units (the split differs
between realizations). The true individual effect is mu1 - mu0. The files' key ``ate``
is the design constant 4 (the average effect on the treated), not the realized ATE.
Standard protocol: fit on the training split, report sqrt(PEHE) on the test split.
"""

_ACIC_DESCR = """\
ACIC 2016 data challenge (Dorie, Hill, Shalit, Scott & Cervone 2019), causallib subset
-------------------------------------------------------------------------------------
4,802 individuals, 58 real covariates from the Collaborative Perinatal Project (x_2,
x_21, x_24 categorical), simulated treatment and outcomes; 10 realizations as shipped
by causallib (``instance=1..10``). The true individual effect is mu1 - mu0. Data licence:
CDLA-Sharing-1.0. Usual protocol: permutation ``np.random.default_rng(42 + i)``, first
90% train, last 10% test (see :func:`train_test_split_protocol`).
"""

_LALONDE_DESCR = """\
RealCause LaLonde {group} (Neal, Huang & Raghupathi 2020)
--------------------------------------------------------
The LaLonde job-training data with the {controls} control group, with outcomes drawn
from RealCause's fitted generative model, so both potential outcomes are known. 8
covariates (age, education, black, hispanic, married, nodegree, re74, re75), binary
treatment ``t`` (job training), outcome ``y`` (1978 earnings). The true individual
effect is ``ite`` = y1 - y0. Upstream has samples 0-99. MIT License, (c) 2020 Brady Neal.
Usual protocol: permutation ``np.random.default_rng(42 + sample)``, 90% train, 10% test.
"""
def get_data_home(data_home: str | os.PathLike | None = None) -> Path:
    """Return the folder the dataset loaders read from.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The folder to use. If None, the ``SKCFM_DATA`` environment variable is used
        when set and non-empty, else ``platformdirs.user_cache_dir("skcfm")``.

    Returns
    -------
    data_home : pathlib.Path
        The folder, with ``~`` expanded. It is not created: the loaders only read.

    Examples
    --------
    >>> from skcfm.datasets import get_data_home
    >>> get_data_home("/data/causal").as_posix()
    '/data/causal'
    """
    if data_home is None:
        data_home = os.environ.get("SKCFM_DATA") or None
    if data_home is None:
        import platformdirs

        data_home = platformdirs.user_cache_dir("skcfm")
    return Path(data_home).expanduser()


def train_test_split_protocol(
    n: int, realization: int, test_size: float = 0.1
) -> tuple[np.ndarray, np.ndarray]:
    """Split ``n`` rows as the CFM papers do for ACIC 2016 and RealCause.

    The rows are permuted with ``np.random.default_rng(42 + realization).permutation(n)``;
    the first ``int((1 - test_size) * n)`` of the permutation are the training rows and
    the rest the test rows (ACIC: 4,321 / 481; CPS: 14,559 / 1,618; PSID: 2,407 / 268).

    Parameters
    ----------
    n : int
        Number of rows.
    realization : int
        The realization (ACIC 2016: 1-10) or sample index (RealCause: 0-99) ``i``.
    test_size : float, default=0.1
        Fraction of rows held out, in (0, 1).

    Returns
    -------
    train : ndarray of shape (int((1 - test_size) * n),)
        Indices of the training rows, in permutation order.
    test : ndarray of shape (n - len(train),)
        Indices of the test rows, in permutation order.

    Examples
    --------
    >>> from skcfm.datasets import train_test_split_protocol
    >>> train, test = train_test_split_protocol(4802, realization=1)
    >>> len(train), len(test)
    (4321, 481)
    """
    if not (isinstance(n, (int, np.integer)) and n >= 2):
        raise ValueError(f"n must be an integer >= 2; got {n!r}")
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be in (0, 1); got {test_size!r}")
    if isinstance(realization, bool) or not isinstance(realization, (int, np.integer)) or realization < 0:
        raise ValueError(f"realization must be a non-negative integer; got {realization!r}")
    perm = np.random.default_rng(42 + int(realization)).permutation(n)
    k = int((1 - test_size) * n)
    return perm[:k], perm[k:]


def load_ihdp(
    realization: int = 0,
    *,
    split: Literal["train", "test"] = "train",
    data_home: str | os.PathLike | None = None,
    as_frame: bool = False,
) -> Bunch:
    """Load one realization of IHDP-100, its training or its test split.

    Parameters
    ----------
    realization : int, default=0
        Realization index, 0 to 99 (0-based: ``realization=0`` is the files' first
        realization, called "realization 1" in the literature).
    split : {"train", "test"}, default="train"
        The 672 training units or the 75 test units of that realization.
    data_home : str or path-like, default=None
        Data folder; see :func:`get_data_home`. Reads
        ``<data_home>/ihdp/ihdp_npci_1-100.<split>.npz``.
    as_frame : bool, default=False
        If True, ``data`` is a DataFrame, ``treatment``, ``outcome`` and the entries of
        ``truth`` are Series, and ``frame`` holds data, treatment and outcome together.

    Returns
    -------
    bunch : sklearn.utils.Bunch
        data : ndarray of shape (n, 25) or DataFrame
            Covariates ``x1`` ... ``x25``; n is 672 (train) or 75 (test).
        treatment : ndarray of shape (n,) or Series
            Treatment, 0.0 or 1.0.
        outcome : ndarray of shape (n,) or Series
            Observed (factual) outcome ``yf``.
        truth : Bunch
            Ground truth that no estimator may see: ``mu0``, ``mu1`` (noiseless
            potential outcomes), ``ite`` (= mu1 - mu0) and ``ycf`` (the noisy
            counterfactual outcome), each of shape (n,).
        frame : DataFrame or None
            data, treatment ``t`` and outcome ``yf`` together when ``as_frame=True``.
        feature_names : list of str
        realization : int
        split : str
        DESCR : str

    Raises
    ------
    FileNotFoundError
        If the split's file is not in ``<data_home>/ihdp``.

    Examples
    --------
    >>> from skcfm.datasets import load_ihdp
    >>> ihdp = load_ihdp(0, split="test")  # doctest: +SKIP
    >>> ihdp.data.shape, round(float(ihdp.truth.ite.mean()), 3)  # doctest: +SKIP
    ((75, 25), 4.056)
    """
    _check_int_range("realization", realization, 0, 99)
    if split not in _IHDP_FILES:
        raise ValueError(f"split must be one of {sorted(_IHDP_FILES)}; got {split!r}")
    path = _require(
        get_data_home(data_home), "ihdp", [_IHDP_FILES[split]], _IHDP_SOURCE[split]
    )
    with np.load(path) as f:
        x = f["x"][:, :, realization]
        t, yf, ycf = f["t"][:, realization], f["yf"][:, realization], f["ycf"][:, realization]
        mu0, mu1 = f["mu0"][:, realization], f["mu1"][:, realization]
    feature_names = [f"x{j}" for j in range(1, x.shape[1] + 1)]
    return make_bunch(
        x, feature_names, t, "t", yf, "yf",
        {"mu0": mu0, "mu1": mu1, "ite": mu1 - mu0, "ycf": ycf},
        as_frame=as_frame, DESCR=_IHDP_DESCR, realization=realization, split=split,
    )


def load_acic2016(
    realization: int = 1,
    *,
    data_home: str | os.PathLike | None = None,
    as_frame: bool = False,
    categorical: Literal["onehot", "raw"] = "onehot",
) -> Bunch:
    """Load one of the 10 ACIC 2016 realizations shipped with causallib (all 4,802 rows).

    Split the rows with :func:`train_test_split_protocol` for the usual protocol.

    Parameters
    ----------
    realization : int, default=1
        Realization 1 to 10, i.e. file ``zymu_<realization>`` (causallib's ``instance``).
    data_home : str or path-like, default=None
        Data folder; see :func:`get_data_home`. Reads ``<data_home>/acic2016/x.csv.gz``
        and ``<data_home>/acic2016/zymu_<realization>.csv.gz``.
    as_frame : bool, default=False
        If True, ``data`` is a DataFrame, ``treatment``, ``outcome`` and the entries of
        ``truth`` are Series, and ``frame`` holds data, treatment and outcome together.
    categorical : {"onehot", "raw"}, default="onehot"
        How the three letter-coded covariates ``x_2``, ``x_21``, ``x_24`` come back.
        "onehot": ``pandas.get_dummies`` over the whole covariate table (all levels
        kept, float 0/1, columns ``x_2_A`` ... appended after the 55 numeric covariates
        in sorted level order), 82 columns. "raw": the 58 original columns with the
        strings; only with ``as_frame=True``.

    Returns
    -------
    bunch : sklearn.utils.Bunch
        data : ndarray of shape (4802, 82) or DataFrame of shape (4802, 82 or 58)
        treatment : ndarray of shape (4802,) or Series
            Treatment indicator ``z``, 0 or 1.
        outcome : ndarray of shape (4802,) or Series
            Observed outcome ``y`` = y1 where z == 1, else y0.
        truth : Bunch
            ``mu0``, ``mu1`` (noiseless potential outcomes), ``ite`` (= mu1 - mu0),
            ``y0``, ``y1`` (noisy potential outcomes), each of shape (4802,).
        frame : DataFrame or None
            data, treatment and outcome together when ``as_frame=True``.
        feature_names : list of str
        realization : int
        DESCR : str

    Raises
    ------
    ValueError
        If ``categorical="raw"`` without ``as_frame=True``.
    FileNotFoundError
        If a file is not in ``<data_home>/acic2016``.

    Examples
    --------
    >>> from skcfm.datasets import load_acic2016
    >>> acic = load_acic2016(1)  # doctest: +SKIP
    >>> acic.data.shape, round(float(acic.truth.ite.mean()), 4)  # doctest: +SKIP
    ((4802, 82), 2.1281)
    """
    _check_int_range("realization", realization, 1, 10)
    if categorical not in ("onehot", "raw"):
        raise ValueError(f"categorical must be 'onehot' or 'raw'; got {categorical!r}")
    if categorical == "raw" and not as_frame:
        raise ValueError(
            "categorical='raw' keeps string columns, which need as_frame=True; "
            "pass as_frame=True or use categorical='onehot'"
        )
    home = get_data_home(data_home)
    x = pd.read_csv(_require(home, "acic2016", ["x.csv.gz", "x.csv"], _ACIC_SOURCE))
    sim = pd.read_csv(
        _require(
            home, "acic2016",
            [f"zymu_{realization}.csv.gz", f"zymu_{realization}.csv"], _ACIC_SOURCE,
        )
    )
    if categorical == "onehot":
        x = pd.get_dummies(x, columns=_ACIC_CATEGORICAL, dtype=float)
    z = sim["z"].to_numpy()
    y0, y1 = sim["y0"].to_numpy(), sim["y1"].to_numpy()
    mu0, mu1 = sim["mu0"].to_numpy(), sim["mu1"].to_numpy()
    data = x if as_frame else x.to_numpy(dtype=float)
    return make_bunch(
        data, list(x.columns), z, "z", np.where(z == 1, y1, y0), "y",
        {"mu0": mu0, "mu1": mu1, "ite": mu1 - mu0, "y0": y0, "y1": y1},
        as_frame=as_frame, DESCR=_ACIC_DESCR, realization=realization,
    )


def load_lalonde(
    sample: int = 0,
    *,
    group: Literal["cps", "psid"] = "cps",
    data_home: str | os.PathLike | None = None,
    as_frame: bool = False,
) -> Bunch:
    """Load one RealCause LaLonde sample (CPS or PSID controls), all rows.

    Split the rows with :func:`train_test_split_protocol` for the usual protocol.

    Parameters
    ----------
    sample : int, default=0
        Sample index 0 to 99 (RealCause publishes 100 per group).
    group : {"cps", "psid"}, default="cps"
        Which observational control group: CPS (16,177 rows) or PSID (2,675 rows).
    data_home : str or path-like, default=None
        Data folder; see :func:`get_data_home`. Reads
        ``<data_home>/realcause/lalonde_<group>_sample<sample>.csv.gz``.
    as_frame : bool, default=False
        If True, ``data`` is a DataFrame, ``treatment``, ``outcome`` and the entries of
        ``truth`` are Series, and ``frame`` holds data, treatment and outcome together.

    Returns
    -------
    bunch : sklearn.utils.Bunch
        data : ndarray of shape (n, 8) or DataFrame
            age, education, black, hispanic, married, nodegree, re74, re75.
        treatment : ndarray of shape (n,) or Series
            Job training ``t``, 0.0 or 1.0.
        outcome : ndarray of shape (n,) or Series
            1978 earnings ``y``.
        truth : Bunch
            ``ite`` (true individual effect, as stored: y1 - y0 up to rounding), ``y0``,
            ``y1`` (potential outcomes), each of shape (n,). The true ATE is
            ``truth.ite.mean()``.
        frame : DataFrame or None
            data, treatment and outcome together when ``as_frame=True``.
        feature_names : list of str
        sample : int
        group : str
        DESCR : str

    Raises
    ------
    FileNotFoundError
        If the sample's file is not in ``<data_home>/realcause``.

    Examples
    --------
    >>> from skcfm.datasets import load_lalonde
    >>> psid = load_lalonde(0, group="psid")  # doctest: +SKIP
    >>> psid.data.shape  # doctest: +SKIP
    (2675, 8)
    """
    _check_int_range("sample", sample, 0, 99)
    if group not in ("cps", "psid"):
        raise ValueError(f"group must be 'cps' or 'psid'; got {group!r}")
    name = f"lalonde_{group}_sample{sample}"
    df = pd.read_csv(
        _require(
            get_data_home(data_home), "realcause", [f"{name}.csv.gz", f"{name}.csv"],
            _REALCAUSE_SOURCE,
        )
    )
    x = df[_LALONDE_COVARIATES]
    truth = {c: df[c].to_numpy() for c in ("ite", "y0", "y1")}
    return make_bunch(
        x if as_frame else x.to_numpy(dtype=float), list(_LALONDE_COVARIATES),
        df["t"].to_numpy(), "t", df["y"].to_numpy(), "y", truth,
        as_frame=as_frame,
        DESCR=_LALONDE_DESCR.format(
            group=group.upper(), controls="CPS" if group == "cps" else "PSID"
        ),
        sample=sample, group=group,
    )


def _check_int_range(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int in [{low}, {high}]; got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}]; got {value}")


def _require(home: Path, subdir: str, names: list[str], source: str) -> Path:
    """Return the first of ``home/subdir/names`` that exists, else raise a clear error."""
    folder = home / subdir
    for name in names:
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(
        f"{names[0]} not found: expected {folder / names[0]}"
        + (f" (or {', '.join(names[1:])})" if len(names) > 1 else "")
        + f". {source} Put it in {folder}, or point data_home= or the SKCFM_DATA "
        f"environment variable at a folder holding {subdir}/{names[0]}."
    )
