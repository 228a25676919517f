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
:func:`align_pam` produces that array from anything a user may pass as
``ancestors``.

Building PAMs
-------------
* :func:`ancestor_matrix` -- from a causal graph (networkx, DoWhy, GML, DOT or an
  edge list) through its transitive closure.
* :func:`unconfoundedness_pam` -- the pattern of the CFM paper's Prop. A.1.
* :func:`tiered_pam` -- temporal tiers (later never causes earlier).
* :func:`merge_pams` -- combine partial knowledge from several sources.
* :func:`validate_pam` -- check a PAM and return it as ``int8``.
"""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from collections.abc import Hashable, Iterable, Sequence
from typing import Any, Literal

import networkx as nx
import numpy as np
import pandas as pd

__all__ = [
    "PostTreatmentWarning",
    "align_pam",
    "ancestor_matrix",
    "default_names",
    "graph_from_dowhy",
    "merge_pams",
    "pam_to_model_order",
    "tiered_pam",
    "unconfoundedness_pam",
    "validate_pam",
    "warn_post_treatment",
]

_UNKNOWN_OPTIONS = ("absent", "unknown", "covariates")
_CONFLICT_OPTIONS = ("raise", "unknown")
_GRAPH_KINDS = (
    "a networkx DiGraph, a DoWhy CausalModel or CausalGraph, a GML or DOT string, "
    "or an edge list of (cause, effect) pairs"
)


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
    >>> from skcfm.graphs import default_names
    >>> print(default_names(3))
    ['x0', 'x1', 'x2']
    """
    return [f"x{i}" for i in range(n)]


# --------------------------------------------------------------------------- graphs


def graph_from_dowhy(model_or_graph: Any) -> nx.DiGraph:
    """Return the networkx graph inside a DoWhy object.

    Parameters
    ----------
    model_or_graph : dowhy.CausalModel, dowhy.causal_graph.CausalGraph or object
        A DoWhy ``CausalModel`` (its ``_graph``), a ``CausalGraph`` (its ``_graph``),
        or a GCM causal model (its ``graph``).

    Returns
    -------
    graph : networkx.DiGraph
        A copy of the directed graph; node attributes are kept (DoWhy marks latent
        nodes with ``observed="no"``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from dowhy import CausalModel
    >>> from skcfm.graphs import graph_from_dowhy
    >>> df = pd.DataFrame(np.zeros((4, 3)), columns=["x", "t", "y"])
    >>> model = CausalModel(data=df, treatment="t", outcome="y",
    ...                     graph="digraph {x -> t; x -> y; t -> y}")
    >>> print(sorted(graph_from_dowhy(model).edges))
    [('t', 'y'), ('x', 't'), ('x', 'y')]
    """
    obj = model_or_graph
    # CausalModel._graph is a CausalGraph whose _graph is the networkx DiGraph
    # (dowhy 0.8 to 0.14); GCM models expose the DiGraph as .graph.
    for _ in range(3):
        if isinstance(obj, nx.DiGraph):
            return nx.DiGraph(obj)
        inner = getattr(obj, "_graph", None)
        if inner is None:
            inner = getattr(obj, "graph", None)
        if inner is None or inner is obj:
            break
        obj = inner
    raise TypeError(
        f"graph: cannot find a networkx DiGraph inside {type(model_or_graph).__name__}; "
        "expected a DoWhy CausalModel or CausalGraph"
    )


def _strip_quotes(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _graph_from_dot(text: str) -> nx.DiGraph:
    try:
        import pydot
    except ImportError as exc:
        raise ImportError(
            "graph: reading a DOT string needs pydot: pip install skcfm[dowhy] (or pydot); or pass a "
            "networkx DiGraph, a GML string or an edge list"
        ) from exc

    # pydot prints parse errors to stdout; keep them for our message instead.
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        try:
            parsed = pydot.graph_from_dot_data(text)
        except Exception as exc:  # pydot raises or returns None depending on version
            parsed = None
            captured.write(str(exc))
    if not parsed:
        detail = " ".join(captured.getvalue().split())
        raise ValueError(f"graph is not a valid DOT string: {detail}")
    if len(parsed) > 1:
        raise ValueError(f"graph holds {len(parsed)} DOT graphs; expected one")
    multi = nx.nx_pydot.from_pydot(parsed[0])
    if not multi.is_directed():
        raise ValueError("graph is an undirected DOT graph; expected 'digraph { ... }'")
    graph = nx.DiGraph(multi)
    # pydot keeps the quotes of attribute values; and it can report a stray node
    # named "\n" for a trailing newline.
    graph.remove_nodes_from([n for n in list(graph) if str(n).strip() in ("", "\\n")])
    for _, attrs in graph.nodes(data=True):
        for key, value in attrs.items():
            attrs[key] = _strip_quotes(value)
    return graph


def _graph_from_gml(text: str) -> nx.DiGraph:
    try:
        graph = nx.parse_gml(text, label="label")
    except nx.NetworkXError as exc:
        if "label" not in str(exc):
            raise ValueError(f"graph is not a valid GML string: {exc}") from exc
        graph = nx.parse_gml(text, label="id")  # nodes without labels: use ids
    if not graph.is_directed():
        raise ValueError("graph is an undirected GML graph; expected 'directed 1'")
    return nx.DiGraph(graph)


def _as_digraph(graph: Any) -> nx.DiGraph:
    """Convert any accepted graph kind to a networkx DiGraph (a copy)."""
    if isinstance(graph, nx.Graph):
        if not graph.is_directed():
            raise ValueError("graph is an undirected networkx graph; expected a DiGraph")
        return nx.DiGraph(graph)
    if isinstance(graph, str):
        unquoted = re.sub(r'"(?:[^"\\]|\\.)*"', '""', graph)
        # DOT bodies are in braces; GML never uses them.
        return _graph_from_dot(graph) if "{" in unquoted else _graph_from_gml(graph)
    if hasattr(graph, "_graph") or type(graph).__module__.startswith("dowhy"):
        return graph_from_dowhy(graph)
    if isinstance(graph, (np.ndarray, pd.DataFrame, bytes, dict)) or not isinstance(
        graph, Iterable
    ):
        raise TypeError(f"graph must be {_GRAPH_KINDS}; got {type(graph).__name__}")
    edges = list(graph)
    bad = [e for e in edges if isinstance(e, str) or not isinstance(e, Sequence) or len(e) != 2]
    if bad:
        raise ValueError(f"graph: an edge list must hold (cause, effect) pairs; got {bad[0]!r}")
    result = nx.DiGraph()
    result.add_edges_from((u, v) for u, v in edges)
    return result


def _check_label(value: Any, argument: str) -> None:
    if not isinstance(value, Hashable):
        raise TypeError(
            f"{argument} must be a single variable name; got {type(value).__name__} {value!r}"
        )


def _check_labels(treatment: Any, outcome: Any, covariates: list) -> None:
    _check_label(treatment, "treatment")
    _check_label(outcome, "outcome")
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
    >>> from skcfm.graphs import ancestor_matrix
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
    g = _as_digraph(graph)
    _check_label(treatment, "treatment")
    _check_label(outcome, "outcome")
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
    _check_labels(treatment, outcome, covariates)

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


# ------------------------------------------------------------------------ patterns


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
    >>> from skcfm.graphs import unconfoundedness_pam
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
    _check_labels(treatment, outcome, covariates)
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
    >>> from skcfm.graphs import tiered_pam
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
    >>> from skcfm.graphs import merge_pams, tiered_pam, unconfoundedness_pam
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


# ---------------------------------------------------------------------- validation


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
    >>> from skcfm.graphs import validate_pam
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


# ----------------------------------------------------------------------- alignment


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
    >>> from skcfm.graphs import pam_to_model_order, unconfoundedness_pam
    >>> pam = unconfoundedness_pam(["a", "b"])
    >>> print(pam_to_model_order(pam, treatment="t", outcome="y", covariates=["b", "a"]))
    [[0 1 0 0]
     [0 0 0 0]
     [1 1 0 0]
     [1 1 0 0]]
    """
    covariates = list(covariates)
    _check_labels(treatment, outcome, covariates)
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
        - Any graph :func:`ancestor_matrix` accepts (networkx, DoWhy, GML, DOT,
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
    >>> from skcfm.graphs import align_pam
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
    _check_labels(treatment, outcome, covariates)
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
            f"fit's order (X's columns, then T, then Y), or {_GRAPH_KINDS}; got "
            f"{type(ancestors).__name__}"
        ) from exc
    except ValueError as exc:
        raise ValueError(f"ancestors: {exc}") from exc
    return pam.to_numpy()


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
