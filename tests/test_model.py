"""Tests for skcfm.model: configuration checks, shapes, invariances and graph conditioning.

Rows are in the model's variable order [t, y, x_1..x_d]; ``pam[b, a, c] == 1`` means a
is an ancestor of c.
"""

import pytest
import torch
from torch import nn

from skcfm.model import CausalFoundationModel, CFMConfig
from skcfm.model.config import GRAPH_MODES
from skcfm.model.graph_encoder import variable_roles
from skcfm.model.layers import FeatureAttention, MultiHeadAttention
from skcfm.model.transformer import sinusoidal_positions

B, N, M, F = 3, 10, 5, 5  # data sets, context rows, queries, variables (3 covariates)


def small_config(**changes) -> CFMConfig:
    values = {"d_model": 16, "n_layers": 2, "n_heads": 2, "ffn_mult": 2, "n_sinks": 2, "n_bars": 12, "gcn_layers": 1}
    return CFMConfig(**{**values, **changes})


def make_model(graph_mode: str = "soft+gcn", seed: int = 0) -> CausalFoundationModel:
    torch.manual_seed(seed)
    model = CausalFoundationModel(small_config(graph_mode=graph_mode))
    # AdaLN modulation starts at zero (plain LayerNorm); give it weights so that the
    # GCN's output reaches the predictions, as it does after training
    for module in model.modules():
        if isinstance(module, nn.Linear) and module.out_features == 3 * module.in_features:
            nn.init.normal_(module.weight, std=0.2)
    return model.eval()


def inputs(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    context = torch.randn(B, N, F, generator=g)
    queries = torch.randn(B, M, F, generator=g)
    queries[:, :, 1] = 0.0
    pam = torch.randint(-1, 2, (B, F, F), generator=g).to(torch.int8)
    return context, queries, pam


def test_forward_returns_logits_per_query_and_bar():
    model = make_model()
    context, queries, pam = inputs()
    assert model(context, queries, pam).shape == (B, M, 12)


@pytest.mark.parametrize("n_context,n_queries,n_vars", [(1, 1, 3), (7, 2, 4), (30, 9, 12)])
def test_forward_accepts_any_number_of_rows_and_variables(n_context, n_queries, n_vars):
    model = make_model()
    out = model(torch.randn(2, n_context, n_vars), torch.randn(2, n_queries, n_vars), torch.zeros(2, n_vars, n_vars))
    assert out.shape == (2, n_queries, 12)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("graph_mode", GRAPH_MODES)
def test_permuting_context_rows_leaves_predictions_unchanged(graph_mode):
    model = make_model(graph_mode)
    context, queries, pam = inputs()
    permuted = context[:, torch.randperm(N, generator=torch.Generator().manual_seed(1))]
    with torch.no_grad():
        torch.testing.assert_close(model(permuted, queries, pam), model(context, queries, pam), rtol=1e-4, atol=1e-5)


def test_permuting_queries_permutes_predictions():
    model = make_model()
    context, queries, pam = inputs()
    order = torch.tensor([3, 0, 4, 1, 2])
    with torch.no_grad():
        torch.testing.assert_close(model(context, queries[:, order], pam), model(context, queries, pam)[:, order])


@pytest.mark.parametrize("graph_mode", GRAPH_MODES)
def test_a_query_never_influences_another_query(graph_mode):
    model = make_model(graph_mode)
    context, queries, pam = inputs()
    changed = queries.clone()
    changed[:, 0] = torch.randn(B, F) * 5
    with torch.no_grad():
        before, after = model(context, queries, pam), model(context, changed, pam)
    assert not torch.allclose(before[:, 0], after[:, 0])  # the change is seen by its own query
    torch.testing.assert_close(after[:, 1:], before[:, 1:], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("graph_mode", GRAPH_MODES)
def test_an_encoded_context_serves_query_chunks_like_one_forward(graph_mode):
    model = make_model(graph_mode)
    context, queries, pam = inputs()
    with torch.no_grad():
        whole = model(context, queries, pam)
        cache = model.encode_context(context, pam)
        chunks = torch.cat(
            [model.predict_queries(cache, queries[:, :2]), model.predict_queries(cache, queries[:, 2:])], dim=1)
    torch.testing.assert_close(chunks, whole, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("graph_mode", GRAPH_MODES)
def test_the_last_block_on_the_outcome_token_alone_matches_every_token(graph_mode):
    model = make_model(graph_mode)
    context, queries, pam = inputs()
    with torch.no_grad():
        cache = model.encode_context(context, pam)
        h = model._embed(queries, is_query=True)
        for block, bias, keys in zip(model.blocks, cache.feature_biases, cache.keys, strict=True):
            h, _ = block(h, bias, cache.graph_embedding, context_keys=keys)  # every token through every block
        every_token = model.head(model.head_norm(h[:, :, 1]))
        torch.testing.assert_close(model.predict_queries(cache, queries), every_token, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("graph_mode", GRAPH_MODES)
def test_a_context_stops_at_the_last_blocks_keys(graph_mode):
    model = make_model(graph_mode)
    context, _, pam = inputs()
    with torch.no_grad():
        cache = model.encode_context(context, pam)
        # every block run in full, as a context ran before it stopped at the last keys
        sinks = model.sinks[:, variable_roles(F)].expand(B, -1, -1, -1) + sinusoidal_positions(F, model.config.d_model)
        h = torch.cat([sinks, model._embed(context, is_query=False)], dim=1)
        keys = []
        for block, bias in zip(model.blocks, cache.feature_biases, strict=True):
            h, layer_keys = block(h, bias, cache.graph_embedding)
            keys.append(layer_keys)
    assert len(cache.keys) == len(keys)
    for cached, full in zip(cache.keys, keys, strict=True):
        assert torch.equal(cached, full)


def test_predictions_depend_on_the_context():
    model = make_model()
    context, queries, pam = inputs()
    changed = context.clone()
    changed[:, :, 1] = changed[:, :, 1] + 2 * changed[:, :, 0]
    with torch.no_grad():
        assert not torch.allclose(model(context, queries, pam), model(changed, queries, pam), atol=1e-4)


def test_query_outcome_column_is_ignored():
    model = make_model()
    context, queries, pam = inputs()
    leaked = queries.clone()
    leaked[:, :, 1] = torch.randn(B, M) * 3
    with torch.no_grad():
        torch.testing.assert_close(model(context, leaked, pam), model(context, queries, pam))


def test_data_sets_of_a_batch_are_independent():
    model = make_model()
    context, queries, pam = inputs()
    with torch.no_grad():
        alone = model(context[1:2], queries[1:2], pam[1:2])
        together = model(context, queries, pam)[1:2]
    torch.testing.assert_close(alone, together, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("graph_mode", GRAPH_MODES)
def test_every_graph_mode_runs_forward_and_backward(graph_mode):
    torch.manual_seed(0)
    model = CausalFoundationModel(small_config(graph_mode=graph_mode))
    context, queries, pam = inputs()
    loss = model.loss(context, queries, pam, torch.randn(B, M))
    loss.backward()
    assert torch.isfinite(loss)
    # every parameter takes part (DistributedDataParallel requires it)
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all(), name


@pytest.mark.parametrize("graph_mode,has_gcn,has_soft_bias", [
    ("soft+gcn", True, True), ("soft", False, True), ("gcn", True, False), ("hard", False, False),
    ("none", False, False),
])
def test_graph_mode_builds_only_its_graph_modules(graph_mode, has_gcn, has_soft_bias):
    model = CausalFoundationModel(small_config(graph_mode=graph_mode))
    assert (model.graph_encoder is not None) is has_gcn
    assert (model.feature_bias is not None) is has_soft_bias


@pytest.mark.parametrize("graph_mode", ["soft+gcn", "soft", "gcn", "hard"])
def test_pam_changes_predictions_when_the_graph_is_used(graph_mode):
    model = make_model(graph_mode)
    context, queries, pam = inputs()
    with torch.no_grad():
        assert not torch.allclose(model(context, queries, pam), model(context, queries, -pam), atol=1e-4)


def test_pam_is_ignored_without_graph():
    model = make_model("none")
    context, queries, pam = inputs()
    with torch.no_grad():
        torch.testing.assert_close(model(context, queries, -pam), model(context, queries, pam))


@pytest.mark.parametrize("diagonal", [0, -1])
def test_hard_mode_with_every_relation_excluded_gives_finite_outputs(diagonal):
    model = make_model("hard")
    context, queries, _ = inputs()
    pam = -torch.ones(B, F, F, dtype=torch.int8)
    pam[:, torch.arange(F), torch.arange(F)] = diagonal
    with torch.no_grad():
        assert torch.isfinite(model(context, queries, pam)).all()


def test_config_rejects_unknown_graph_mode():
    with pytest.raises(ValueError, match="graph_mode='soft\\+hard'.*'soft\\+gcn'.*'none'"):
        CFMConfig(graph_mode="soft+hard")


def test_config_rejects_d_model_not_divisible_by_heads():
    with pytest.raises(ValueError, match="d_model=30 must be divisible by n_heads=4"):
        CFMConfig(d_model=30, n_heads=4)


def test_config_rejects_wrong_number_of_borders():
    with pytest.raises(ValueError, match="bar_borders has 4 entries; expected n_bars \\+ 1 = 11"):
        CFMConfig(n_bars=10, bar_borders=(0.0, 1.0, 2.0, 3.0))


def test_config_round_trips_through_a_dict():
    config = small_config(bar_borders=tuple(float(b) for b in range(13)), graph_mode="gcn")
    assert CFMConfig.from_dict(config.to_dict()) == config


def test_model_uses_the_configured_borders():
    borders = tuple(float(b) for b in torch.linspace(-2, 3, 13))
    model = CausalFoundationModel(small_config(bar_borders=borders))
    torch.testing.assert_close(model.borders, torch.tensor(borders))
    assert "borders" not in model.state_dict()  # rebuilt from the config, not the weights


@pytest.mark.parametrize("bias_kind", ["none", "soft", "hard"])
def test_feature_attention_matches_the_fused_kernel(bias_kind):
    torch.manual_seed(0)
    fused, written_out = MultiHeadAttention(16, 4), FeatureAttention(16, 4)
    written_out.load_state_dict(fused.state_dict())
    rows = torch.randn(2, 5, 6, 16)  # (B, R, F, d)
    bias = {"none": None, "soft": torch.randn(2, 1, 4, 6, 6),
            "hard": torch.zeros(2, 1, 4, 6, 6).masked_fill(torch.rand(2, 1, 4, 6, 6) < 0.3, float("-inf"))}[bias_kind]
    if bias is not None:
        bias[..., torch.arange(6), torch.arange(6)] = 0.0  # every variable may attend to itself
    torch.testing.assert_close(written_out(rows, rows, bias), fused(rows, rows, bias))


@pytest.mark.parametrize("graph_mode", GRAPH_MODES)
@pytest.mark.parametrize("sizes", [dict(d_model=8, n_layers=1, n_heads=2, ffn_mult=1, n_sinks=0, n_bars=10),
                                   dict(d_model=24, n_layers=3, n_heads=4, ffn_mult=3, n_sinks=2, n_bars=50,
                                        gcn_layers=3)])
def test_the_parameter_count_from_the_sizes_is_the_built_networks(graph_mode, sizes):
    # a model card is bounded by this count before any network is built
    config = CFMConfig(graph_mode=graph_mode, **sizes)
    assert config.n_parameters == sum(p.numel() for p in CausalFoundationModel(config).parameters())
