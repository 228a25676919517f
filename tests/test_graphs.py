"""Tests for skcfm.graphs and the PAM modules (pam_builders, pam_validation, pam_alignment): PAMs
from graphs, patterns, merging, validation, alignment.

Convention under test: ``pam.loc[a, b] == 1`` means a is a known ancestor of b.
"""

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from skcfm.graphs import graph_from_dowhy
from skcfm.pam_alignment import align_pam, default_names, pam_to_model_order
from skcfm.pam_builders import ancestor_matrix, merge_pams, tiered_pam, unconfoundedness_pam
from skcfm.pam_validation import validate_pam

LALONDE_COVARIATES = ["age", "educ", "black", "hisp", "married", "nodegr", "re74", "re75"]
LALONDE_DOT = (
    "digraph {\n"
    + "".join(f"  {c} -> treat;\n  {c} -> re78;\n" for c in LALONDE_COVARIATES)
    + "  treat -> re78;\n}\n"
)


def lalonde_expected(unknown):
    """The LaLonde PAM written out row by row: [treat, re78, *covariates]."""
    cov_cov = -1 if unknown == "absent" else 0
    rows = [
        [0, 1] + [-1] * 8,  # treat causes re78 only
        [-1, 0] + [-1] * 8,  # re78 causes nothing
    ]
    for i in range(8):  # each covariate causes treat and re78, no other covariate
        rows.append([1, 1] + [0 if j == i else cov_cov for j in range(8)])
    labels = ["treat", "re78", *LALONDE_COVARIATES]
    return pd.DataFrame(np.array(rows, dtype=np.int8), index=labels, columns=labels)


@pytest.fixture(scope="module")
def lalonde_model():
    dowhy = pytest.importorskip("dowhy")
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(20, 10)), columns=["treat", "re78", *LALONDE_COVARIATES])
    df["treat"] = rng.integers(0, 2, size=20).astype(bool)
    return dowhy.CausalModel(data=df, treatment="treat", outcome="re78", graph=LALONDE_DOT)


def frame(values, labels):
    return pd.DataFrame(np.array(values), index=labels, columns=labels)


# ----------------------------------------------------------------- ancestor_matrix


@pytest.mark.parametrize("unknown", ["absent", "covariates"])
def test_lalonde_dot_gives_hand_checked_matrix(unknown):
    pam = ancestor_matrix(LALONDE_DOT, treatment="treat", outcome="re78", unknown=unknown)
    pd.testing.assert_frame_equal(pam, lalonde_expected(unknown))


def test_lalonde_dot_entries_read_row_as_cause():
    pam = ancestor_matrix(LALONDE_DOT, treatment="treat", outcome="re78")
    assert pam.loc["age", "treat"] == 1
    assert pam.loc["treat", "age"] == -1
    assert pam.loc["treat", "re78"] == 1
    assert pam.loc["re78", "treat"] == -1
    assert pam.loc["re74", "re75"] == -1


@pytest.mark.parametrize("unknown", ["absent", "covariates"])
def test_lalonde_dowhy_causal_model_gives_hand_checked_matrix(lalonde_model, unknown):
    pam = ancestor_matrix(
        lalonde_model,
        treatment="treat",
        outcome="re78",
        covariates=LALONDE_COVARIATES,
        unknown=unknown,
    )
    pd.testing.assert_frame_equal(pam, lalonde_expected(unknown))


def test_dowhy_default_covariates_are_the_other_nodes(lalonde_model):
    pam = ancestor_matrix(lalonde_model, treatment="treat", outcome="re78")
    assert list(pam.index[:2]) == ["treat", "re78"]
    assert sorted(pam.index[2:]) == sorted(LALONDE_COVARIATES)


def test_dowhy_causal_graph_is_accepted(lalonde_model):
    pam = ancestor_matrix(
        lalonde_model._graph, treatment="treat", outcome="re78", covariates=LALONDE_COVARIATES
    )
    pd.testing.assert_frame_equal(pam, lalonde_expected("absent"))


def test_graph_from_dowhy_returns_networkx_copy(lalonde_model):
    graph = graph_from_dowhy(lalonde_model)
    assert isinstance(graph, nx.DiGraph)
    assert graph.number_of_edges() == 17
    graph.remove_edge("treat", "re78")
    assert lalonde_model._graph._graph.has_edge("treat", "re78")


def test_graph_from_dowhy_rejects_other_objects():
    with pytest.raises(TypeError, match="cannot find a networkx DiGraph"):
        graph_from_dowhy(object())


def test_default_covariates_follow_dot_node_order():
    pam = ancestor_matrix(LALONDE_DOT, treatment="treat", outcome="re78")
    assert list(pam.index) == ["treat", "re78", *LALONDE_COVARIATES]
    assert list(pam.columns) == list(pam.index)


def test_chain_ancestors_are_transitive():
    pam = ancestor_matrix([("a", "b"), ("b", "t"), ("t", "y")], treatment="t", outcome="y")
    assert pam.loc["a", "y"] == 1  # a -> b -> t -> y
    assert pam.loc["a", "t"] == 1
    assert pam.loc["b", "y"] == 1


@pytest.mark.parametrize(
    ("unknown", "expected"),
    [
        ("absent", [[0, 1, -1, -1], [-1, 0, -1, -1], [1, 1, 0, 1], [1, 1, -1, 0]]),
        ("unknown", [[0, 1, 0, 0], [0, 0, 0, 0], [1, 1, 0, 1], [1, 1, 0, 0]]),
        ("covariates", [[0, 1, -1, -1], [-1, 0, -1, -1], [1, 1, 0, 1], [1, 1, 0, 0]]),
    ],
)
def test_chain_absent_paths_follow_unknown_option(unknown, expected):
    pam = ancestor_matrix(
        [("a", "b"), ("b", "t"), ("t", "y")], treatment="t", outcome="y", unknown=unknown
    )
    assert list(pam.index) == ["t", "y", "a", "b"]
    np.testing.assert_array_equal(pam.to_numpy(), expected)


def test_covariates_missing_from_graph_are_unknown():
    pam = ancestor_matrix(
        [("a", "t"), ("t", "y")], treatment="t", outcome="y", covariates=["z", "a"]
    )
    assert list(pam.index) == ["t", "y", "z", "a"]
    assert (pam.loc["z"] == 0).all() and (pam["z"] == 0).all()
    assert pam.loc["a", "t"] == 1 and pam.loc["t", "a"] == -1


def test_covariates_order_is_kept():
    pam = ancestor_matrix(
        LALONDE_DOT, treatment="treat", outcome="re78", covariates=["re75", "age"]
    )
    assert list(pam.index) == ["treat", "re78", "re75", "age"]


def test_networkx_digraph_input():
    graph = nx.DiGraph([("x", "t"), ("x", "y"), ("t", "y")])
    pam = ancestor_matrix(graph, treatment="t", outcome="y")
    np.testing.assert_array_equal(pam.to_numpy(), [[0, 1, -1], [-1, 0, -1], [1, 1, 0]])
    assert pam.dtypes.eq(np.int8).all()


def test_gml_string_with_labels_input():
    gml = """graph [
      directed 1
      node [ id 0 label "x" ]
      node [ id 1 label "t" ]
      node [ id 2 label "y" ]
      edge [ source 0 target 1 ]
      edge [ source 1 target 2 ]
    ]"""
    pam = ancestor_matrix(gml, treatment="t", outcome="y")
    assert list(pam.index) == ["t", "y", "x"]
    np.testing.assert_array_equal(pam.to_numpy(), [[0, 1, -1], [-1, 0, -1], [1, 1, 0]])


def test_gml_string_with_ids_only_input():
    gml = (
        'graph [ directed 1 node [ id "x" ] node [ id "t" ] node [ id "y" ] '
        'edge [ source "x" target "t" ] edge [ source "t" target "y" ] ]'
    )
    pam = ancestor_matrix(gml, treatment="t", outcome="y")
    assert pam.loc["x", "y"] == 1


def test_undirected_gml_is_rejected():
    gml = 'graph [ node [ id 0 label "t" ] node [ id 1 label "y" ] edge [ source 0 target 1 ] ]'
    with pytest.raises(ValueError, match="undirected GML"):
        ancestor_matrix(gml, treatment="t", outcome="y")


def test_edge_list_input():
    pam = ancestor_matrix([("x", "t"), ("t", "y")], treatment="t", outcome="y")
    np.testing.assert_array_equal(pam.to_numpy(), [[0, 1, -1], [-1, 0, -1], [1, 1, 0]])


def test_dot_latent_nodes_are_left_out_of_default_covariates():
    dot = 'digraph { U [observed="no"]; U -> x; x -> t; t -> y; U -> y }'
    pam = ancestor_matrix(dot, treatment="t", outcome="y")
    assert list(pam.index) == ["t", "y", "x"]


def test_undirected_networkx_graph_is_rejected():
    with pytest.raises(ValueError, match="undirected"):
        ancestor_matrix(nx.Graph([("t", "y")]), treatment="t", outcome="y")


def test_undirected_dot_is_rejected():
    with pytest.raises(ValueError, match="undirected DOT"):
        ancestor_matrix("graph { t -- y }", treatment="t", outcome="y")


def test_invalid_dot_is_rejected():
    with pytest.raises(ValueError, match="not a valid DOT"):
        ancestor_matrix("digraph { t -> }", treatment="t", outcome="y")


def test_cyclic_graph_is_rejected():
    with pytest.raises(ValueError, match="graph is cyclic"):
        ancestor_matrix([("a", "b"), ("b", "a"), ("t", "y")], treatment="t", outcome="y")


def test_invalid_unknown_option_lists_valid_ones():
    with pytest.raises(ValueError, match=r"\['absent', 'unknown', 'covariates'\]"):
        ancestor_matrix([("t", "y")], treatment="t", outcome="y", unknown="none")


def test_treatment_missing_from_graph_is_rejected():
    with pytest.raises(ValueError, match="no node for the treatment 'd'"):
        ancestor_matrix([("t", "y")], treatment="d", outcome="y")


def test_path_from_outcome_to_treatment_is_rejected():
    with pytest.raises(ValueError, match="path from the outcome to the treatment"):
        ancestor_matrix([("y", "m"), ("m", "t")], treatment="t", outcome="y")


def test_edge_list_with_bad_item_is_rejected():
    with pytest.raises(ValueError, match="pairs"):
        ancestor_matrix([("x", "t", "y")], treatment="t", outcome="y")


@pytest.mark.parametrize("graph", [3, np.zeros((2, 2))])
def test_unsupported_graph_type_is_rejected(graph):
    with pytest.raises(TypeError, match="graph must be"):
        ancestor_matrix(graph, treatment="t", outcome="y")


def test_covariates_repeating_treatment_are_rejected():
    with pytest.raises(ValueError, match="repeated: \\['t'\\]"):
        ancestor_matrix([("t", "y")], treatment="t", outcome="y", covariates=["t"])


# ---------------------------------------------------------------------- patterns


def test_unconfoundedness_pam_matches_prop_a1():
    pam = unconfoundedness_pam(["a", "b"])
    assert list(pam.index) == ["t", "y", "a", "b"]
    np.testing.assert_array_equal(
        pam.to_numpy(),
        [
            [0, 1, 0, 0],  # T -> Y
            [0, 0, 0, 0],  # rest unknown, Y -> T included
            [1, 1, 0, 0],  # X -> T, X -> Y
            [1, 1, 0, 0],
        ],
    )
    validate_pam(pam, treatment="t", outcome="y")


def test_unconfoundedness_pam_uses_given_names():
    pam = unconfoundedness_pam(LALONDE_COVARIATES, treatment="treat", outcome="re78")
    assert pam.loc["age", "re78"] == 1 and pam.loc["treat", "re78"] == 1
    assert pam.loc["re78", "treat"] == 0 and pam.loc["age", "educ"] == 0


def test_tiered_pam_marks_later_tiers_as_non_ancestors():
    pam = tiered_pam([["a", "b"], ["t"], ["y"]])
    assert list(pam.index) == ["a", "b", "t", "y"]
    np.testing.assert_array_equal(
        pam.to_numpy(),
        [
            [0, 0, 0, 0],
            [0, 0, 0, 0],  # same tier: unknown
            [-1, -1, 0, 0],
            [-1, -1, -1, 0],
        ],
    )


def test_tiered_pam_rejects_string_tiers():
    with pytest.raises(TypeError, match="tiers must be a sequence of sequences"):
        tiered_pam(["ab", "t"])


def test_tiered_pam_rejects_repeated_variable():
    with pytest.raises(ValueError, match=r"more than one place: \['a'\]"):
        tiered_pam([["a"], ["a", "t"]])


# ------------------------------------------------------------------------- merge


def test_merge_fills_unknown_from_other_sources_over_union_of_labels():
    first = unconfoundedness_pam(["a"])
    second = tiered_pam([["a", "b"], ["t"], ["y"]])
    merged = merge_pams(first, second)
    assert list(merged.index) == ["t", "y", "a", "b"]
    np.testing.assert_array_equal(
        merged.to_numpy(),
        [
            [0, 1, -1, -1],
            [-1, 0, -1, -1],
            [1, 1, 0, 0],
            [0, 0, 0, 0],  # b: only "not caused by t or y" is known
        ],
    )


def test_merge_conflict_raises_naming_pair():
    yes = frame([[0, 1], [0, 0]], ["a", "b"])
    no = frame([[0, -1], [0, 0]], ["a", "b"])
    with pytest.raises(ValueError, match=r"conflict on \('a', 'b'\).*\[0\].*\[1\]"):
        merge_pams(yes, no)


def test_merge_conflict_unknown_sets_pair_to_zero():
    yes = frame([[0, 1], [-1, 0]], ["a", "b"])
    no = frame([[0, -1], [0, 0]], ["a", "b"])
    merged = merge_pams(yes, no, conflict="unknown")
    np.testing.assert_array_equal(merged.to_numpy(), [[0, 0], [-1, 0]])


def test_merge_rejects_chain_contradiction_across_sources():
    ab = frame([[0, 1], [0, 0]], ["a", "b"])
    bc = frame([[0, 1], [0, 0]], ["b", "c"])
    not_ac = frame([[0, -1], [0, 0]], ["a", "c"])
    with pytest.raises(ValueError, match="ancestors contradicts itself"):
        merge_pams(ab, bc, not_ac)


def test_merge_invalid_conflict_option_lists_valid_ones():
    with pytest.raises(ValueError, match=r"\['raise', 'unknown'\]"):
        merge_pams(unconfoundedness_pam(["a"]), conflict="ignore")


def test_merge_needs_a_pam():
    with pytest.raises(TypeError, match="at least one PAM"):
        merge_pams()


# -------------------------------------------------------------------- validation


def test_validate_returns_int8_copy():
    pam = frame([[0.0, 1.0], [-1.0, 0.0]], ["t", "y"])
    checked = validate_pam(pam, treatment="t", outcome="y")
    assert checked.dtypes.eq(np.int8).all()
    assert checked is not pam


def test_validate_reorders_to_names():
    pam = frame([[0, 1], [-1, 0]], ["t", "y"])
    checked = validate_pam(pam, names=["y", "t"])
    assert list(checked.index) == ["y", "t"]
    assert checked.loc["t", "y"] == 1


def test_validate_rejects_non_dataframe():
    with pytest.raises(TypeError, match="ancestors must be a pandas DataFrame.*ndarray"):
        validate_pam(np.zeros((2, 2)))


def test_validate_rejects_non_square():
    pam = pd.DataFrame(np.zeros((2, 3)), index=["a", "b"], columns=["a", "b", "c"])
    with pytest.raises(ValueError, match=r"ancestors has shape \(2, 3\); expected a square"):
        validate_pam(pam)


def test_validate_rejects_index_different_from_columns():
    pam = pd.DataFrame(np.zeros((2, 2)), index=["a", "b"], columns=["b", "a"])
    with pytest.raises(ValueError, match="ancestors must have index == columns"):
        validate_pam(pam)


def test_validate_rejects_repeated_labels():
    pam = frame(np.zeros((2, 2)), ["a", "a"])
    with pytest.raises(ValueError, match=r"ancestors labels more than one row/column.*'a'"):
        validate_pam(pam)


def test_validate_rejects_labels_not_in_names():
    pam = frame(np.zeros((3, 3)), ["t", "y", "z"])
    with pytest.raises(ValueError, match=r"ancestors labels \['z'\], which match none"):
        validate_pam(pam, names=["t", "y"])


def test_validate_rejects_names_matching_no_column():
    pam = frame(np.zeros((2, 2)), ["t", "y"])
    with pytest.raises(ValueError, match=r"ancestors has no row/column for \['age'\]"):
        validate_pam(pam, names=["t", "y", "age"])


def test_validate_rejects_treatment_matching_no_column():
    pam = frame(np.zeros((2, 2)), ["t", "y"])
    with pytest.raises(ValueError, match="ancestors has no row/column for the treatment 'd'"):
        validate_pam(pam, treatment="d")


def test_validate_rejects_values_outside_minus_one_zero_one():
    pam = frame([[0, 2], [0.5, 0]], ["a", "b"])
    with pytest.raises(ValueError, match=r"ancestors holds values \[0.5, 2.0\]; expected only"):
        validate_pam(pam)


def test_validate_rejects_nan():
    pam = frame([[0, np.nan], [0, 0]], ["a", "b"])
    with pytest.raises(ValueError, match=r"ancestors holds NaN at \('a', 'b'\)"):
        validate_pam(pam)


def test_validate_rejects_non_numeric_values():
    pam = frame([["0", "yes"], ["0", "0"]], ["a", "b"])
    with pytest.raises(ValueError, match="ancestors must hold the numbers"):
        validate_pam(pam)


def test_validate_rejects_non_zero_diagonal():
    pam = frame([[1, 0], [0, 0]], ["a", "b"])
    with pytest.raises(ValueError, match=r"ancestors has a non-zero diagonal for \['a'\]"):
        validate_pam(pam)


def test_validate_rejects_mutual_ancestors():
    pam = frame([[0, 1], [1, 0]], ["a", "b"])
    with pytest.raises(ValueError, match="ancestors marks 'a' and 'b' as ancestors of each other"):
        validate_pam(pam)


def test_validate_rejects_longer_cycle_of_known_ancestors():
    pam = frame([[0, 1, 0], [0, 0, 1], [1, 0, 0]], ["a", "b", "c"])
    with pytest.raises(ValueError, match="ancestors has a cycle of known ancestors"):
        validate_pam(pam)


def test_validate_rejects_chain_contradicted_by_non_ancestor():
    # a -> b and b -> c are known ancestors, but a -> c is marked -1.
    pam = frame([[0, 1, -1], [0, 0, 1], [0, 0, 0]], ["a", "b", "c"])
    with pytest.raises(
        ValueError,
        match=r"ancestors contradicts itself: .*'a' -> 'b' -> 'c'.*\['a', 'c'\] is -1",
    ):
        validate_pam(pam)


def test_validate_rejects_outcome_ancestor_of_treatment():
    pam = frame([[0, 0], [1, 0]], ["t", "y"])
    with pytest.raises(
        ValueError, match="ancestors marks the outcome 'y' as an ancestor of the treatment 't'"
    ):
        validate_pam(pam, treatment="t", outcome="y")


def test_validate_rejects_outcome_ancestor_of_treatment_through_chain():
    pam = frame([[0, 0, 0], [0, 0, 1], [1, 0, 0]], ["t", "y", "m"])
    with pytest.raises(ValueError, match="outcome 'y' as an ancestor of the treatment"):
        validate_pam(pam, treatment="t", outcome="y")


# --------------------------------------------------------------------- alignment


def test_default_names():
    assert default_names(3) == ["x0", "x1", "x2"]


def test_align_none_is_all_unknown():
    out = align_pam(None, covariates=["a", "b"], treatment="t", outcome="y")
    assert out.shape == (4, 4) and out.dtype == np.int8 and not out.any()


def test_align_dataframe_by_name():
    pam = unconfoundedness_pam(["a", "b"])
    pam.loc["a", "b"] = 1
    out = align_pam(pam, covariates=["b", "a"], treatment="t", outcome="y")
    assert out.dtype == np.int8
    np.testing.assert_array_equal(
        out,
        [
            [0, 1, 0, 0],
            [0, 0, 0, 0],
            [1, 1, 0, 0],  # b
            [1, 1, 1, 0],  # a, ancestor of b
        ],
    )


def test_align_dataframe_rejects_extra_names():
    pam = unconfoundedness_pam(["a", "b", "U"])
    with pytest.raises(ValueError, match=r"ancestors labels \['U'\], which match none"):
        align_pam(pam, covariates=["a", "b"], treatment="t", outcome="y")


def test_align_dataframe_rejects_missing_covariate():
    pam = unconfoundedness_pam(["a"])
    with pytest.raises(ValueError, match=r"ancestors has no row/column for \['b'\]"):
        align_pam(pam, covariates=["a", "b"], treatment="t", outcome="y")


def test_align_dot_graph_uses_covariates_unknown():
    covariates = ["re75", "age", "not_in_graph"]
    out = align_pam(LALONDE_DOT, covariates=covariates, treatment="treat", outcome="re78")
    np.testing.assert_array_equal(
        out,
        [
            [0, 1, -1, -1, 0],
            [-1, 0, -1, -1, 0],
            [1, 1, 0, 0, 0],  # covariate-covariate pairs unknown
            [1, 1, 0, 0, 0],
            [0, 0, 0, 0, 0],
        ],
    )


def test_align_dowhy_model(lalonde_model):
    out = align_pam(lalonde_model, covariates=LALONDE_COVARIATES, treatment="treat", outcome="re78")
    np.testing.assert_array_equal(out, lalonde_expected("covariates").to_numpy())


def test_align_networkx_and_edge_list_agree():
    edges = [("a", "t"), ("t", "y"), ("b", "y")]
    kwargs = dict(covariates=["a", "b"], treatment="t", outcome="y")
    from_nx = align_pam(nx.DiGraph(edges), **kwargs)
    np.testing.assert_array_equal(from_nx, align_pam(edges, **kwargs))
    np.testing.assert_array_equal(
        from_nx, [[0, 1, -1, -1], [-1, 0, -1, -1], [1, 1, 0, 0], [-1, 1, 0, 0]]
    )


def test_align_graph_errors_name_ancestors():
    with pytest.raises(ValueError, match="ancestors: graph has no node for the treatment"):
        align_pam([("a", "y")], covariates=["a"], treatment="t", outcome="y")


def test_align_array_in_fit_order_is_reordered_element_by_element():
    covariates = ["x0", "x1", "x2"]
    fit_labels = [*covariates, "t", "y"]
    graph = [("x0", "x1"), ("x0", "t"), ("x1", "y"), ("t", "y"), ("x2", "y")]
    fit_order = ancestor_matrix(graph, treatment="t", outcome="y", covariates=covariates)
    array = fit_order.loc[fit_labels, fit_labels].to_numpy()  # X..., T, Y
    out = align_pam(array, covariates=covariates, treatment="t", outcome="y")
    model_to_fit = [3, 4, 0, 1, 2]  # model order [t, y, x0, x1, x2] in fit order
    for i, fi in enumerate(model_to_fit):
        for j, fj in enumerate(model_to_fit):
            assert out[i, j] == array[fi, fj], (i, j)
    assert out[0, 1] == 1  # t ancestor of y
    assert out[2, 0] == 1  # x0 ancestor of t
    assert out[2, 1] == 1  # x0 ancestor of y through x1
    assert out[4, 0] == -1  # x2 not an ancestor of t


def test_align_array_wrong_shape_message():
    with pytest.raises(
        ValueError,
        match=r"ancestors has shape \(5, 5\); expected \(6, 6\): 4 columns of X, then T, "
        r"then Y",
    ):
        align_pam(np.zeros((5, 5)), covariates=default_names(4), treatment="t", outcome="y")


def test_align_array_values_are_validated():
    array = np.zeros((3, 3))
    array[2, 1] = 1  # y (last in fit order) ancestor of t
    with pytest.raises(ValueError, match="outcome 'y' as an ancestor of the treatment 't'"):
        align_pam(array, covariates=["x0"], treatment="t", outcome="y")


def test_align_unnamed_covariates_by_position():
    out = align_pam(np.zeros((4, 4)), covariates=[0, 1], treatment="t", outcome="y")
    assert out.shape == (4, 4)


def test_align_rejects_unsupported_type():
    with pytest.raises(TypeError, match="ancestors must be None, a labelled pandas DataFrame"):
        align_pam(3.0, covariates=["a"], treatment="t", outcome="y")


def test_align_rejects_treatment_among_covariates():
    with pytest.raises(ValueError, match="covariates must not repeat"):
        align_pam(None, covariates=["a", "t"], treatment="t", outcome="y")


def test_pam_to_model_order_matches_align_pam():
    pam = unconfoundedness_pam(["a", "b"])
    kwargs = dict(covariates=["b", "a"], treatment="t", outcome="y")
    np.testing.assert_array_equal(pam_to_model_order(pam, **kwargs), align_pam(pam, **kwargs))


def test_align_refuses_an_array_in_the_model_order():
    """unconfoundedness_pam's values ([T, Y, X...]) read in fit's order ([X..., T, Y]) would make
    the outcome an ancestor of covariates and T's effect on Y unknown: refused, not warned."""
    pam = unconfoundedness_pam(["x0", "x1"], treatment="t", outcome="y")
    with pytest.raises(ValueError, match=r"outcome \(its last row\) a known ancestor of \['x0', 'x1'\].*DataFrame"):
        align_pam(pam.to_numpy(), covariates=["x0", "x1"], treatment="t", outcome="y")
    aligned = align_pam(pam, covariates=["x0", "x1"], treatment="t", outcome="y")
    np.testing.assert_array_equal(aligned, pam.to_numpy())


def test_pam_helpers_read_names_not_characters_and_take_iterators():
    with pytest.raises(TypeError, match=r"covariates must be a list of names, e.g. \['age'\]"):
        unconfoundedness_pam("age", treatment="t", outcome="y")
    from_iterator = tiered_pam(iter([["a"], ["t"], ["y"]]))
    assert from_iterator.equals(tiered_pam([["a"], ["t"], ["y"]])) and from_iterator.shape == (3, 3)
