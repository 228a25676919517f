"""Partial ancestor matrices (PAMs): what is known about the causal order.

A PAM records, for every ordered pair of variables, whether the first is known to
be an ancestor of the second:

* ``1``  -- known ancestor (there is a directed path from the row variable to the
  column variable);
* ``-1`` -- known non-ancestor (there is no such path);
* ``0``  -- unknown.

Convention
----------
A PAM is a :class:`pandas.DataFrame` whose index and columns are the same variable
names in the same order, and ``pam.loc[a, b] == 1`` means "``a`` is a known ancestor
of ``b``" (**row = cause, column = effect**); ``pam.loc[a, b] == -1`` means ``a`` is
known *not* to be an ancestor of ``b``. The diagonal is 0. The model's internal
order is ``[T, Y, X_1, ..., X_d]`` and uses the same convention (row = ancestor);
:func:`~skcfm.pam_alignment.align_pam` produces that array from anything a user may pass as
``ancestors``.

Building PAMs
-------------
* :func:`ancestor_matrix` -- from a causal graph (networkx, DoWhy, GML, DOT or an
  edge list) through its transitive closure.
* :func:`unconfoundedness_pam` -- the pattern of the CFM paper's Prop. A.1.
* :func:`tiered_pam` -- temporal tiers (later never causes earlier).
* :func:`merge_pams` -- combine partial knowledge from several sources.
* :func:`~skcfm.pam_validation.validate_pam` -- check a PAM and return it as ``int8``.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Any, Literal

import networkx as nx
import numpy as np
import pandas as pd

from .graphs import as_digraph
from .pam_validation import check_label, check_labels, validate_pam

__all__ = ["ancestor_matrix", "merge_pams", "tiered_pam", "unconfoundedness_pam"]


_UNKNOWN_OPTIONS = ("absent", "unknown", "covariates")
_CONFLICT_OPTIONS = ("raise", "unknown")


def ancestor_matrix(
    graph: Any,
    *,
    treatment: Hashable,
    outcome: Hashable,
    covariates: Iterable[Hashable] | None = None,
    unknown: Literal["absent", "unknown", "covariates"] = "absent",
) -> pd.DataFrame:
    """Partial ancestor matrix from a causal graph.

    ``pam.loc[a, b] == 1`` when the graph has a directed path from ``a`` to ``b``
    (its transitive closure); what a *missing* path means is set by ``unknown``.

    Parameters
    ----------
    graph : networkx.DiGraph, dowhy.CausalModel, CausalGraph, str or iterable
        The causal DAG: a networkx ``DiGraph``; a DoWhy ``CausalModel`` or
        ``CausalGraph``; a GML string (``graph [ directed 1 ... ]``); a DOT string
        (``digraph { a -> b }``); or an edge list of ``(cause, effect)`` pairs.
    treatment : hashable
        Name of the treatment node; must be in the graph.
    outcome : hashable
        Name of the outcome node; must be in the graph.
    covariates : iterable of hashable, default=None
        The covariates, in the order wanted. Names that are not in the graph get
        rows and columns of 0 (unknown). ``None`` takes every other node in the
        graph's node order, leaving out DoWhy's latent nodes (``observed="no"``).
    unknown : {"absent", "unknown", "covariates"}, default="absent"
        What the absence of a directed path between two nodes of the graph means.

        - ``"absent"``: the graph is complete, so no path means non-ancestor (-1).
        - ``"unknown"``: only paths are known; every absent path is 0.
        - ``"covariates"``: -1 for pairs involving the treatment or the outcome, 0
          for covariate--covariate pairs. Suits graphs drawn for identification
          (DoWhy's), which say little about how covariates relate to each other.

    Returns
    -------
    pam : pandas.DataFrame of int8, shape (d + 2, d + 2)
        Labelled ``[treatment, outcome, *covariates]`` on both axes; row = ancestor,
        column = descendant.

    Raises
    ------
    ValueError
        If the graph is cyclic or undirected, lacks the treatment or outcome, has a
        directed path from the outcome to the treatment, or ``unknown`` is not a
        valid option.

    See Also
    --------
    validate_pam : Checks a PAM built by hand.
    align_pam : Converts a PAM or graph to the model's internal order.

    Examples
    --------
    >>> from skcfm.pam_builders import ancestor_matrix
    >>> print(ancestor_matrix("digraph { a -> t; t -> y; b -> y }", treatment="t",
    ...                       outcome="y"))
       t  y  a  b
    t  0  1 -1 -1
    y -1  0 -1 -1
    a  1  1  0 -1
    b -1  1 -1  0
    >>> print(ancestor_matrix([("a", "t"), ("t", "y"), ("b", "y")], treatment="t",
    ...                       outcome="y", unknown="covariates"))
       t  y  a  b
    t  0  1 -1 -1
    y -1  0 -1 -1
    a  1  1  0  0
    b -1  1  0  0
    """
    if unknown not in _UNKNOWN_OPTIONS:
        raise ValueError(f"unknown must be one of {list(_UNKNOWN_OPTIONS)}; got {unknown!r}")
    g = as_digraph(graph)
    check_label(treatment, "treatment")
    check_label(outcome, "outcome")
    for role, name in (("treatment", treatment), ("outcome", outcome)):
        if name not in g:
            raise ValueError(f"graph has no node for the {role} {name!r}; nodes: {list(g)}")
    if not nx.is_directed_acyclic_graph(g):
        cycle = [u for u, _ in nx.find_cycle(g)]
        raise ValueError(f"graph is cyclic: {' -> '.join(map(str, cycle + cycle[:1]))}")
    if nx.has_path(g, outcome, treatment):
        path = nx.shortest_path(g, outcome, treatment)
        raise ValueError(
            f"graph has a directed path from the outcome to the treatment: "
            f"{' -> '.join(map(str, path))}"
        )
    if covariates is None:
        covariates = [
            n
            for n, observed in g.nodes(data="observed", default="yes")
            if n not in (treatment, outcome) and str(observed).lower() != "no"
        ]
    covariates = list(covariates)
    check_labels(treatment, outcome, covariates)

    labels = [treatment, outcome, *covariates]
    n = len(labels)
    in_graph = np.array([label in g for label in labels])
    pam = np.zeros((n, n), dtype=np.int8)
    if unknown == "absent":
        pam[np.ix_(in_graph, in_graph)] = -1
    elif unknown == "covariates":
        both = np.outer(in_graph, in_graph)
        both[2:, 2:] = False
        pam[both] = -1
    position = {label: i for i, label in enumerate(labels)}
    for j, label in enumerate(labels):
        if in_graph[j]:
            for ancestor in nx.ancestors(g, label):
                if ancestor in position:
                    pam[position[ancestor], j] = 1
    np.fill_diagonal(pam, 0)
    return pd.DataFrame(pam, index=list(labels), columns=list(labels))


def unconfoundedness_pam(
    covariates: Iterable[Hashable],
    *,
    treatment: Hashable = "t",
    outcome: Hashable = "y",
) -> pd.DataFrame:
    """PAM of the CFM paper's Prop. A.1 (unconfoundedness given the covariates).

    The treatment is an ancestor of the outcome, and every covariate is an
    ancestor of both; every other entry is 0 (unknown).

    Parameters
    ----------
    covariates : iterable of hashable
        Covariate names.
    treatment : hashable, default="t"
        Name of the treatment.
    outcome : hashable, default="y"
        Name of the outcome.

    Returns
    -------
    pam : pandas.DataFrame of int8, shape (d + 2, d + 2)
        Labelled ``[treatment, outcome, *covariates]``.

    Notes
    -----
    Prop. A.1 leaves the rest unknown, so ``pam.loc[outcome, treatment]`` is 0
    even though an outcome that the treatment causes cannot also cause it. Merge
    with :func:`tiered_pam` to state such extra knowledge.

    Examples
    --------
    >>> from skcfm.pam_builders import unconfoundedness_pam
    >>> print(unconfoundedness_pam(["age", "educ"], treatment="treat", outcome="re78"))
           treat  re78  age  educ
    treat      0     1    0     0
    re78       0     0    0     0
    age        1     1    0     0
    educ       1     1    0     0
    """
    if isinstance(covariates, (str, bytes)):  # list("age") would be three covariates
        raise TypeError(f"covariates must be a list of names, e.g. [{covariates!r}]; got the string {covariates!r}")
    covariates = list(covariates)
    check_labels(treatment, outcome, covariates)
    labels = [treatment, outcome, *covariates]
    pam = np.zeros((len(labels), len(labels)), dtype=np.int8)
    pam[0, 1] = 1
    pam[2:, :2] = 1
    return pd.DataFrame(pam, index=labels, columns=labels)


def tiered_pam(tiers: Sequence[Sequence[Hashable]]) -> pd.DataFrame:
    """PAM from temporal tiers: a later tier is never an ancestor of an earlier one.

    Parameters
    ----------
    tiers : sequence of sequences of hashable
        Variable names grouped by time, earliest first (for example baseline
        covariates, then the treatment, then the outcome).

    Returns
    -------
    pam : pandas.DataFrame of int8
        Labelled by the variables in tier order. ``pam.loc[a, b] == -1`` when
        ``a`` is in a later tier than ``b``; every other entry is 0. Earlier tiers
        are not marked as ancestors: coming first does not mean causing.

    Examples
    --------
    >>> from skcfm.pam_builders import tiered_pam
    >>> print(tiered_pam([["age"], ["treat"], ["re78"]]))
           age  treat  re78
    age      0      0     0
    treat   -1      0     0
    re78    -1     -1     0
    """
    tiers = [tiers] if isinstance(tiers, (str, bytes)) else list(tiers)  # an iterator is read once
    if any(isinstance(t, (str, bytes)) for t in tiers):
        raise TypeError(
            "tiers must be a sequence of sequences of names, e.g. [['age'], ['t'], ['y']]; "
            "got a string where a tier was expected"
        )
    labels: list = []
    level: list[int] = []
    for k, tier in enumerate(tiers):
        labels.extend(tier)
        level.extend([k] * len(tier))
    seen: set = set()
    repeated = [x for x in labels if x in seen or seen.add(x)]
    if repeated:
        raise ValueError(f"tiers name a variable in more than one place: {repeated}")
    levels = np.asarray(level)
    pam = np.where(levels[:, None] > levels[None, :], -1, 0).astype(np.int8)
    return pd.DataFrame(pam, index=labels, columns=labels)


def merge_pams(
    *pams: pd.DataFrame, conflict: Literal["raise", "unknown"] = "raise"
) -> pd.DataFrame:
    """Merge partial ancestral knowledge from several PAMs.

    Parameters
    ----------
    *pams : pandas.DataFrame
        Labelled PAMs (see the module convention); each is validated first. The
        labels need not agree: the result covers their union, in order of first
        appearance, and a pair a PAM does not label counts as unknown there.
    conflict : {"raise", "unknown"}, default="raise"
        What to do when one PAM says 1 and another -1 for the same pair:
        ``"raise"`` a ValueError naming the pair, or set it to 0 (``"unknown"``).

    Returns
    -------
    pam : pandas.DataFrame of int8
        0 yields to a known value (1 or -1); the result is validated, so knowledge
        that contradicts through a chain (a -> b and b -> c known, a -> c = -1)
        raises.

    Examples
    --------
    >>> from skcfm.pam_builders import merge_pams, tiered_pam, unconfoundedness_pam
    >>> pams = [unconfoundedness_pam(["age"]), tiered_pam([["age"], ["t"], ["y"]])]
    >>> print(merge_pams(*pams))
         t  y  age
    t    0  1   -1
    y   -1  0   -1
    age  1  1    0
    """
    if not pams:
        raise TypeError("merge_pams needs at least one PAM")
    if conflict not in _CONFLICT_OPTIONS:
        raise ValueError(f"conflict must be one of {list(_CONFLICT_OPTIONS)}; got {conflict!r}")
    checked = [validate_pam(p) for p in pams]
    labels = list(dict.fromkeys(label for p in checked for label in p.index))
    stacked = np.stack(
        [p.reindex(index=labels, columns=labels, fill_value=0).to_numpy() for p in checked]
    )
    known_yes = (stacked == 1).any(axis=0)
    known_no = (stacked == -1).any(axis=0)
    clash = known_yes & known_no
    if clash.any() and conflict == "raise":
        i, j = np.argwhere(clash)[0]
        says_yes = [k for k in range(len(checked)) if stacked[k, i, j] == 1]
        says_no = [k for k in range(len(checked)) if stacked[k, i, j] == -1]
        raise ValueError(
            f"PAMs conflict on ({labels[i]!r}, {labels[j]!r}): PAM(s) {says_yes} say "
            f"{labels[i]!r} is an ancestor of {labels[j]!r}, PAM(s) {says_no} say it is "
            f"not; pass conflict='unknown' to set such pairs to 0"
        )
    merged = np.where(clash, 0, known_yes.astype(np.int8) - known_no.astype(np.int8))
    return validate_pam(pd.DataFrame(merged.astype(np.int8), index=labels, columns=labels))
