"""What a user passes as ``ancestors``, aligned to the model's variable order ``[T, Y, X...]``.

:func:`align_pam` accepts nothing, a labelled PAM, any graph :mod:`skcfm.graphs` reads,
or an array in the order of ``fit``'s arguments, and returns the validated PAM in the
order the model reads (:mod:`skcfm.pam_builders` states the convention).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from .graphs import GRAPH_KINDS
from .pam_builders import ancestor_matrix
from .pam_validation import check_labels, check_outcome_row, validate_pam

__all__ = ["align_pam", "default_names", "labelled_pam", "pam_to_model_order"]


def default_names(n: int) -> list[str]:
    """Names for the columns of an unnamed covariate array: ``x0, x1, ...``.

    Parameters
    ----------
    n : int
        Number of columns.

    Returns
    -------
    names : list of str
        ``["x0", ..., f"x{n - 1}"]``, the names scikit-learn gives unnamed features.

    Examples
    --------
    >>> from skcfm.pam_alignment import default_names
    >>> print(default_names(3))
    ['x0', 'x1', 'x2']
    """
    return [f"x{i}" for i in range(n)]


def pam_to_model_order(
    pam: pd.DataFrame,
    *,
    treatment: Hashable,
    outcome: Hashable,
    covariates: Iterable[Hashable],
) -> np.ndarray:
    """Validate a labelled PAM and return it in the model's order ``[T, Y, X...]``.

    Parameters
    ----------
    pam : pandas.DataFrame
        Labelled PAM; must label exactly the treatment, the outcome and the
        covariates (any order).
    treatment, outcome : hashable
        Names of the treatment and outcome.
    covariates : iterable of hashable
        Covariate names in the model's order (the columns of ``X``).

    Returns
    -------
    pam : ndarray of int8, shape (d + 2, d + 2)
        Same convention: ``pam[i, j] == 1`` means variable i is an ancestor of j.

    Examples
    --------
    >>> from skcfm.pam_alignment import pam_to_model_order
    >>> from skcfm.pam_builders import unconfoundedness_pam
    >>> pam = unconfoundedness_pam(["a", "b"])
    >>> print(pam_to_model_order(pam, treatment="t", outcome="y", covariates=["b", "a"]))
    [[0 1 0 0]
     [0 0 0 0]
     [1 1 0 0]
     [1 1 0 0]]
    """
    covariates = list(covariates)
    check_labels(treatment, outcome, covariates)
    names = [treatment, outcome, *covariates]
    return validate_pam(pam, names=names, treatment=treatment, outcome=outcome).to_numpy()


def align_pam(
    ancestors: Any,
    *,
    covariates: Iterable[Hashable],
    treatment: Hashable,
    outcome: Hashable,
) -> np.ndarray:
    """Convert what a user passes as ``ancestors`` to the model's order ``[T, Y, X...]``.

    Parameters
    ----------
    ancestors : None, pandas.DataFrame, graph or ndarray
        - ``None``: nothing known (all 0).
        - A labelled PAM (DataFrame): aligned by name (safest). It must label the
          treatment, the outcome and every covariate, and nothing else.
        - Any graph :func:`~skcfm.pam_builders.ancestor_matrix` accepts (networkx, DoWhy, GML, DOT,
          edge list), converted with ``unknown="covariates"``. Covariates absent
          from the graph are unknown; graph nodes that are not covariates (latent
          variables) only carry paths.
        - A numpy array in the order of ``fit``'s arguments: the columns of ``X``,
          then T, then Y, shape (d + 2, d + 2). Pass matrices as numpy arrays: a
          list is read as an edge list.
    covariates : iterable of hashable
        Names of ``X``'s columns, in order (strings, or e.g. :func:`default_names`
        for unnamed arrays).
    treatment, outcome : hashable
        Names of the treatment and the outcome.

    Returns
    -------
    pam : ndarray of int8, shape (d + 2, d + 2)
        Rows and columns ordered ``[T, Y, X_1, ..., X_d]``; ``pam[i, j] == 1``
        means variable i is a known ancestor of j.

    Examples
    --------
    >>> import numpy as np
    >>> from skcfm.pam_alignment import align_pam
    >>> fit_order = np.array([[0, 1, 1],     # x0: ancestor of t and y
    ...                       [0, 0, 1],     # t: ancestor of y
    ...                       [0, -1, 0]])   # y: not an ancestor of t
    >>> print(align_pam(fit_order, covariates=["x0"], treatment="t", outcome="y"))
    [[ 0  1  0]
     [-1  0  0]
     [ 1  1  0]]
    >>> print(align_pam("digraph { x0 -> t; t -> y }", covariates=["x0"],
    ...                 treatment="t", outcome="y"))
    [[ 0  1 -1]
     [-1  0 -1]
     [ 1  1  0]]
    """
    covariates = list(covariates)
    check_labels(treatment, outcome, covariates)
    d = len(covariates)
    if ancestors is None:
        return np.zeros((d + 2, d + 2), dtype=np.int8)
    if isinstance(ancestors, pd.DataFrame):
        return pam_to_model_order(
            ancestors, treatment=treatment, outcome=outcome, covariates=covariates
        )
    if isinstance(ancestors, np.ndarray):
        if ancestors.shape != (d + 2, d + 2):
            raise ValueError(
                f"ancestors has shape {ancestors.shape}; expected {(d + 2, d + 2)}: "
                f"{d} columns of X, then T, then Y"
            )
        fit_order = [*covariates, treatment, outcome]
        check_outcome_row(ancestors, fit_order, treatment=treatment, order="X's columns, then T, then Y")
        pam = pd.DataFrame(ancestors, index=fit_order, columns=fit_order)
        return pam_to_model_order(pam, treatment=treatment, outcome=outcome, covariates=covariates)
    try:
        pam = ancestor_matrix(
            ancestors,
            treatment=treatment,
            outcome=outcome,
            covariates=covariates,
            unknown="covariates",
        )
    except TypeError as exc:
        raise TypeError(
            f"ancestors must be None, a labelled pandas DataFrame, a numpy array in "
            f"fit's order (X's columns, then T, then Y), or {GRAPH_KINDS}; got "
            f"{type(ancestors).__name__}"
        ) from exc
    except ValueError as exc:
        raise ValueError(f"ancestors: {exc}") from exc
    return pam.to_numpy()


def labelled_pam(pam: np.ndarray, treatment: Hashable, outcome: Hashable, covariates: Iterable[Hashable],
                 arm_levels: Iterable | None = None) -> pd.DataFrame:
    """The model-order PAM ``[T, Y, X..., arm columns]`` as a DataFrame labelled by variable.

    What a fitted estimator shows as ``pam_``: row a, column c holds 1 where a is a known
    ancestor of c, -1 where it is known not to be, 0 where unknown. The arm outcome
    columns (per-arm outcome predictions the estimator adds as covariates) are named
    ``"E[<outcome> | <treatment>=<level>]"``.

    Parameters
    ----------
    pam : ndarray of shape (k, k)
        The PAM in the model's order.
    treatment, outcome : hashable
        Names of T and Y.
    covariates : iterable of hashable
        Names of the covariates, in the model's order.
    arm_levels : iterable or None, default=None
        The treatment levels of the arm outcome columns, if any.

    Returns
    -------
    pandas.DataFrame of shape (k, k)
    """
    names = [treatment, outcome, *covariates]
    names += [f"E[{outcome} | {treatment}={level}]" for level in (arm_levels if arm_levels is not None else [])]
    if len(names) != pam.shape[0]:
        raise ValueError(f"{len(names)} names for a PAM of shape {pam.shape}")
    return pd.DataFrame(pam.astype(np.int8), index=names, columns=names)
