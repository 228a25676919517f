"""The partial ancestor matrix that DoWhy's causal graph, or its identified estimand, implies.

:class:`skcfm.dowhy.CFMCateEstimator` builds the PAM of the columns DoWhy hands it at every
fit, so that a refuter that adds a column or swaps the treatment gets a matching PAM:
:func:`graph_pam` reads it from the graph, :func:`estimand_pam` from what identification
established where there is no graph. One-hot columns that DoWhy makes from a categorical
variable inherit that variable's relations (:func:`source_columns`).
"""

from __future__ import annotations

from collections.abc import Hashable

import networkx as nx
import numpy as np
import pandas as pd

from .pam_builders import ancestor_matrix


def estimand_pam(identified: dict, *, treatment: Hashable, outcome: Hashable, covariates: list,
                 sources: list) -> pd.DataFrame:
    """Labelled PAM over ``[treatment, outcome, *covariates]`` from identification alone.

    A directed path from the treatment to the outcome (1; the outcome is then no ancestor
    of the treatment, -1), and for a backdoor set: none of its variables descends from the
    treatment, so none from the outcome either (-1). Only for the variables identified.
    """
    labels = [treatment, outcome, *covariates]
    pam = pd.DataFrame(0, index=labels, columns=labels)
    if treatment != identified["treatment"] or outcome != identified["outcome"] or not identified["path"]:
        return pam
    pam.loc[treatment, outcome], pam.loc[outcome, treatment] = 1, -1
    for label, source in zip(covariates, sources, strict=True):
        if source in identified["not_descendants"]:
            pam.loc[[treatment, outcome], label] = -1
    return pam


def source_columns(columns: list, data_columns) -> list:
    """The data column each estimator column came from: a one-hot dummy ``race_b`` -> ``race``."""
    data_columns = [c for c in data_columns if isinstance(c, str)]
    sources = []
    for column in columns:
        parents = [c for c in data_columns if str(column).startswith(f"{c}_")] if column not in data_columns else []
        sources.append(max(parents, key=len) if parents else column)
    return sources


def graph_pam(graph: nx.DiGraph, *, treatment: Hashable, outcome: Hashable, covariates: list,
              sources: list) -> pd.DataFrame:
    """Labelled PAM over ``[treatment, outcome, *covariates]`` read from ``graph`` (see
    :class:`skcfm.dowhy.CFMCateEstimator`'s Notes); ``sources`` are the graph's variables
    the covariates came from."""
    graph = graph.copy()
    missing = [name for name in (treatment, outcome) if name not in graph]
    graph.add_nodes_from(missing)  # placed so ancestor_matrix accepts them; their relations are unknown
    unique_sources = list(dict.fromkeys(sources))
    pam = ancestor_matrix(graph, treatment=treatment, outcome=outcome, covariates=unique_sources, unknown="covariates")
    pam.loc[missing, :] = 0
    pam.loc[:, missing] = 0
    labels = [treatment, outcome, *covariates]
    origin = [treatment, outcome, *sources]
    values = pam.loc[origin, origin].to_numpy().copy()
    values[np.array([[a == b for b in origin] for a in origin])] = 0  # diagonal; dummies of one variable
    return pd.DataFrame(values, index=labels, columns=labels)
