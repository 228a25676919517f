"""Causal graphs in every form the estimators accept, read as a networkx ``DiGraph``.

A graph may be a networkx ``DiGraph``, a DoWhy ``CausalModel`` or ``CausalGraph``, a GML
or DOT string, or an edge list of ``(cause, effect)`` pairs. :func:`as_digraph` reads any
of them, so that the PAM builders (:mod:`skcfm.pam_builders`) and the DoWhy method
(:mod:`skcfm.dowhy`) take the same inputs and give the same errors.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

__all__ = ["GRAPH_KINDS", "as_digraph", "graph_from_dowhy"]


GRAPH_KINDS = (  # what errors say a graph may be
    "a networkx DiGraph, a DoWhy CausalModel or CausalGraph, a GML or DOT string, "
    "or an edge list of (cause, effect) pairs"
)


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


def as_digraph(graph: Any) -> nx.DiGraph:
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
        raise TypeError(f"graph must be {GRAPH_KINDS}; got {type(graph).__name__}")
    edges = list(graph)
    bad = [e for e in edges if isinstance(e, str) or not isinstance(e, Sequence) or len(e) != 2]
    if bad:
        raise ValueError(f"graph: an edge list must hold (cause, effect) pairs; got {bad[0]!r}")
    result = nx.DiGraph()
    result.add_edges_from((u, v) for u, v in edges)
    return result
