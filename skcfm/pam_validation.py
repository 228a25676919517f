"""Checks of partial ancestor matrices (PAMs) and of the variable names that label them.

:func:`validate_pam` checks a labelled PAM (square, labelled alike on both axes, values
-1, 0 and 1, no cycle of known ancestors, no contradiction through a chain) with errors
that name the offending pair; the other checks catch a PAM passed in the wrong order and
warn when the treatment is a known ancestor of covariates. The convention is that of
:mod:`skcfm.pam_builders`: row = ancestor, column = descendant.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

__all__ = [
    "PostTreatmentWarning",
    "check_label",
    "check_labels",
    "check_outcome_row",
    "validate_pam",
    "warn_post_treatment",
]


def check_label(value: Any, argument: str) -> None:
    """Raise a TypeError unless ``value``, passed as ``argument``, can name one variable."""
    if not isinstance(value, Hashable):
        raise TypeError(
            f"{argument} must be a single variable name; got {type(value).__name__} {value!r}"
        )


def check_labels(treatment: Any, outcome: Any, covariates: list) -> None:
    """Raise unless the treatment, the outcome and the covariates are single names, each
    used once: a PAM labels every variable exactly once."""
    check_label(treatment, "treatment")
    check_label(outcome, "outcome")
    if treatment == outcome:
        raise ValueError(f"treatment and outcome are the same variable {treatment!r}")
    labels = [treatment, outcome, *covariates]
    seen: set = set()
    repeated = [x for x in labels if x in seen or seen.add(x)]
    if repeated:
        raise ValueError(
            f"covariates must not repeat a name nor contain the treatment or outcome; "
            f"repeated: {repeated}"
        )


def _transitive_closure(adjacency: np.ndarray) -> np.ndarray:
    """Boolean reachability by Warshall's algorithm (paths of length >= 1)."""
    reach = adjacency.astype(bool, copy=True)
    for k in range(reach.shape[0]):
        reach |= reach[:, [k]] & reach[[k], :]
    return reach


def validate_pam(
    pam: pd.DataFrame,
    *,
    names: Iterable[Hashable] | None = None,
    treatment: Hashable | None = None,
    outcome: Hashable | None = None,
) -> pd.DataFrame:
    """Check a labelled PAM and return it as ``int8``.

    Errors name the argument ``ancestors``, as the estimators' ``fit`` calls it.

    Parameters
    ----------
    pam : pandas.DataFrame
        Square PAM with index == columns (see the module convention).
    names : iterable of hashable, default=None
        The variables the PAM must label, each exactly once (any order). When
        given, the result is reordered to ``names``.
    treatment : hashable, default=None
        If given, must be a label, and the PAM must not make the outcome an
        ancestor of it.
    outcome : hashable, default=None
        If given, must be a label.

    Returns
    -------
    pam : pandas.DataFrame of int8
        A copy, ordered as ``names`` when given.

    Raises
    ------
    TypeError
        If ``pam`` is not a DataFrame.
    ValueError
        For a shape that is not square or index != columns; repeated labels;
        labels that do not match ``names`` (extra or missing); a treatment or
        outcome that matches no column; values other than -1, 0, 1 (NaN
        included); a non-zero diagonal; two variables each an ancestor of the
        other, or any cycle of known ancestors; a chain of known ancestors
        contradicted by a -1; the outcome (directly or through known ancestors)
        an ancestor of the treatment.

    Examples
    --------
    >>> import pandas as pd
    >>> from skcfm.pam_validation import validate_pam
    >>> pam = pd.DataFrame([[0, 1], [-1, 0]], index=["t", "y"], columns=["t", "y"])
    >>> print(validate_pam(pam, treatment="t", outcome="y").to_numpy().dtype)
    int8
    >>> bad = pd.DataFrame([[0, 1], [1, 0]], index=["t", "y"], columns=["t", "y"])
    >>> validate_pam(bad)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: ancestors marks 't' and 'y' as ancestors of each other ...
    """
    if not isinstance(pam, pd.DataFrame):
        raise TypeError(
            f"ancestors must be a pandas DataFrame labelled by variable names on both "
            f"axes; got {type(pam).__name__}"
        )
    rows, cols = list(pam.index), list(pam.columns)
    if pam.shape[0] != pam.shape[1]:
        raise ValueError(f"ancestors has shape {pam.shape}; expected a square matrix")
    if rows != cols:
        raise ValueError(
            f"ancestors must have index == columns (same names, same order); got index "
            f"{rows} and columns {cols}"
        )
    repeated = list(dict.fromkeys(pam.index[pam.index.duplicated()]))
    if repeated:
        raise ValueError(f"ancestors labels more than one row/column with {repeated}")
    if names is not None:
        names = list(names)
        if len(set(names)) != len(names):
            raise ValueError(f"names must not repeat a name; got {names}")
        missing = [x for x in names if x not in rows]
        if missing:
            raise ValueError(f"ancestors has no row/column for {missing}; it labels {rows}")
        extra = [x for x in rows if x not in names]
        if extra:
            raise ValueError(
                f"ancestors labels {extra}, which match none of the expected names {names}"
            )
        pam = pam.loc[names, names]
        rows = names
    for role, name in (("treatment", treatment), ("outcome", outcome)):
        if name is not None and name not in rows:
            raise ValueError(
                f"ancestors has no row/column for the {role} {name!r}; it labels {rows}"
            )

    try:
        values = pam.to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"ancestors must hold the numbers -1, 0 and 1; got non-numeric values ({exc})"
        ) from exc
    if np.isnan(values).any():
        i, j = np.argwhere(np.isnan(values))[0]
        raise ValueError(f"ancestors holds NaN at ({rows[i]!r}, {rows[j]!r}); use 0 for unknown")
    invalid = ~np.isin(values, (-1.0, 0.0, 1.0))
    if invalid.any():
        bad = sorted({v.item() for v in values[invalid]})
        raise ValueError(
            f"ancestors holds values {bad}; expected only -1 (known non-ancestor), "
            f"0 (unknown) and 1 (known ancestor)"
        )
    values = values.astype(np.int8)
    diagonal = np.flatnonzero(np.diag(values))
    if diagonal.size:
        raise ValueError(
            f"ancestors has a non-zero diagonal for {[rows[i] for i in diagonal]}; "
            f"the diagonal must be 0"
        )
    known = values == 1
    mutual = known & known.T
    if mutual.any():
        i, j = np.argwhere(mutual)[0]
        raise ValueError(
            f"ancestors marks {rows[i]!r} and {rows[j]!r} as ancestors of each other "
            f"(a cycle); at most one of ancestors.loc[{rows[i]!r}, {rows[j]!r}] and "
            f"ancestors.loc[{rows[j]!r}, {rows[i]!r}] can be 1"
        )
    reach = _transitive_closure(known)
    if np.diag(reach).any():
        g = nx.DiGraph([(rows[i], rows[j]) for i, j in np.argwhere(known)])
        cycle = [u for u, _ in nx.find_cycle(g)]
        raise ValueError(
            f"ancestors has a cycle of known ancestors: {' -> '.join(map(repr, cycle + cycle[:1]))}"
        )
    contradicted = reach & (values == -1)
    if contradicted.any():
        i, k = np.argwhere(contradicted)[0]
        g = nx.DiGraph([(rows[a], rows[b]) for a, b in np.argwhere(known)])
        path = nx.shortest_path(g, rows[i], rows[k])
        raise ValueError(
            f"ancestors contradicts itself: the known ancestors "
            f"{' -> '.join(map(repr, path))} make {rows[i]!r} an ancestor of "
            f"{rows[k]!r}, but ancestors.loc[{rows[i]!r}, {rows[k]!r}] is -1"
        )
    if treatment is not None and outcome is not None:
        t, y = rows.index(treatment), rows.index(outcome)
        if reach[y, t]:
            raise ValueError(
                f"ancestors marks the outcome {outcome!r} as an ancestor of the "
                f"treatment {treatment!r}; the outcome cannot cause the treatment"
            )
    return pd.DataFrame(values, index=list(rows), columns=list(rows))


def check_outcome_row(ancestors: np.ndarray, names: Sequence[Hashable], *, treatment: Hashable, order: str) -> None:
    """Raise where an unlabelled PAM in fit's order (the outcome last) makes the outcome a
    known ancestor of a covariate: most likely a PAM in the model's order [T, Y, X...]
    (``unconfoundedness_pam``'s, ``pam_``), read position by position as something else.
    (The outcome as an ancestor of the treatment is refused when the PAM is validated.)"""
    caused = [str(name) for name, known in zip(names[:-1], np.asarray(ancestors)[-1, :-1] == 1, strict=True)
              if known and name != treatment]
    if caused:
        raise ValueError(
            f"ancestors makes the outcome (its last row) a known ancestor of {caused}. An array is read in fit's "
            f"order ({order}); unconfoundedness_pam, ancestor_matrix and pam_ use the model's order [T, Y, X...]: "
            "pass their labelled DataFrame, not its values. To state that the outcome causes a variable, "
            "pass a labelled DataFrame too")


class PostTreatmentWarning(UserWarning):
    """The PAM makes the treatment a known ancestor of covariates: effects hold them at
    the values given, which the treatment itself moves."""


def warn_post_treatment(pam: np.ndarray, covariates: Sequence[Hashable]) -> None:
    """Warn (:class:`PostTreatmentWarning`) when the model-order ``pam`` makes T a known
    ancestor of some ``covariates`` (named in the order of ``pam[2:]``).

    The model answers E[Y | do(T = t), x] with every covariate at its given value; for a
    covariate that T causes, that value already carries the observed treatment, so the
    contrast is not a total effect over pre-treatment covariates.
    """
    caused = [name for name, known in zip(covariates, pam[0, 2:] == 1, strict=True) if known]
    if caused:
        warnings.warn(
            f"the PAM makes the treatment a known ancestor of {caused}: effects hold these covariates at the "
            "values given, which the treatment itself moves, so they are not total effects; leave post-treatment "
            "variables out of the covariates for the total effect", PostTreatmentWarning, stacklevel=3)
