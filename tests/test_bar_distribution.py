"""Tests for skcfm.model.bar_distribution: K bars with half-normal tails."""

import math

import pytest
import torch

from skcfm.model import bar_distribution as bd

BORDERS = torch.tensor([-3.0, -1.5, -0.7, -0.2, 0.0, 0.4, 1.0, 2.5])  # 7 bars, uneven widths
SYMMETRIC = torch.linspace(-2.0, 2.0, 9)  # 8 bars of width 0.5


def random_logits(n: int, k: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, k, generator=torch.Generator().manual_seed(seed)) * 2


def test_density_integrates_to_one_including_the_tails():
    logits = random_logits(4, len(BORDERS) - 1)
    # the tails have scale (outer width) / 0.674 <= 2.3: +-60 leaves nothing out
    grid = torch.linspace(-60.0, 60.0, 400_001)
    density = bd.log_density(logits[:, None, :].expand(-1, len(grid), -1), BORDERS, grid.expand(4, -1)).exp()
    mass = torch.trapezoid(density.double(), grid.double(), dim=-1)
    torch.testing.assert_close(mass, torch.ones(4, dtype=torch.float64), rtol=0, atol=2e-3)


def test_density_of_an_interior_bar_is_its_probability_over_its_width():
    logits = random_logits(1, len(BORDERS) - 1)[0]
    p = torch.softmax(logits, -1)
    for k in range(1, len(BORDERS) - 2):
        y = (BORDERS[k] + BORDERS[k + 1]) / 2
        expected = p[k] / (BORDERS[k + 1] - BORDERS[k])
        assert bd.log_density(logits, BORDERS, y).exp().item() == pytest.approx(expected.item(), rel=1e-5)


def test_each_tail_holds_half_its_mass_within_the_outer_bar():
    logits = torch.zeros(len(BORDERS) - 1)
    logits[0] = 30.0  # all mass in the left tail
    grid = torch.linspace(BORDERS[0].item(), BORDERS[1].item(), 100_001)
    density = bd.log_density(logits.expand(len(grid), -1), BORDERS, grid).exp()
    assert torch.trapezoid(density.double(), grid.double()).item() == pytest.approx(0.5, abs=1e-3)


def test_log_density_is_finite_far_outside_the_borders():
    logits = random_logits(1, len(BORDERS) - 1)[0]
    assert torch.isfinite(bd.log_density(logits.expand(2, -1), BORDERS, torch.tensor([-1e3, 1e3]))).all()


def test_nll_is_the_mean_negative_log_density():
    logits = random_logits(5, len(BORDERS) - 1)
    y = torch.tensor([-4.0, -1.0, 0.1, 0.9, 7.0])
    assert bd.nll(logits, BORDERS, y).item() == pytest.approx(-bd.log_density(logits, BORDERS, y).mean().item())


@pytest.mark.parametrize("k", range(1, 6))
def test_mean_of_a_one_hot_interior_bar_is_its_centre(k):
    logits = torch.full((len(BORDERS) - 1,), -50.0)
    logits[k] = 50.0
    assert bd.mean(logits, BORDERS).item() == pytest.approx(((BORDERS[k] + BORDERS[k + 1]) / 2).item(), abs=1e-5)


def test_mean_of_a_one_hot_tail_is_the_half_normal_mean():
    logits = torch.full((len(BORDERS) - 1,), -50.0)
    logits[-1] = 50.0
    scale = (BORDERS[-1] - BORDERS[-2]) / 0.6744897501960817
    expected = BORDERS[-2] + scale * math.sqrt(2 / math.pi)
    assert bd.mean(logits, BORDERS).item() == pytest.approx(expected.item(), rel=1e-5)


def test_mean_matches_numerical_integration():
    logits = random_logits(3, len(BORDERS) - 1, seed=1)
    grid = torch.linspace(-60.0, 60.0, 400_001)
    density = bd.log_density(logits[:, None, :].expand(-1, len(grid), -1), BORDERS, grid.expand(3, -1)).exp()
    numerical = torch.trapezoid((density * grid).double(), grid.double(), dim=-1)
    torch.testing.assert_close(bd.mean(logits, BORDERS).double(), numerical, rtol=0, atol=5e-3)


def test_quantiles_are_monotone():
    logits = random_logits(6, len(BORDERS) - 1, seed=2)
    qs = torch.linspace(0.001, 0.999, 101)
    out = bd.quantiles(logits, BORDERS, qs)
    assert out.shape == (6, 101)
    assert torch.all(out[:, 1:] >= out[:, :-1])


def test_median_of_a_symmetric_distribution_is_its_centre():
    k = len(SYMMETRIC) - 1
    half = random_logits(1, k // 2, seed=3)[0]
    logits = torch.cat([half, half.flip(0)])
    assert bd.quantiles(logits, SYMMETRIC, torch.tensor([0.5])).item() == pytest.approx(0.0, abs=1e-5)


def test_quantiles_invert_the_cdf():
    logits = random_logits(1, len(BORDERS) - 1, seed=4)[0]
    qs = torch.tensor([0.01, 0.1, 0.3, 0.5, 0.8, 0.97])
    values = bd.quantiles(logits, BORDERS, qs)
    grid = torch.linspace(-60.0, 60.0, 400_001)
    density = bd.log_density(logits.expand(len(grid), -1), BORDERS, grid).exp().double()
    cdf = torch.cumulative_trapezoid(density, grid.double())
    at = torch.searchsorted(grid[1:].contiguous(), values)
    torch.testing.assert_close(cdf[at], qs.double(), rtol=0, atol=2e-3)


def test_fit_borders_are_increasing_with_equal_mass():
    samples = torch.distributions.StudentT(3.0).sample((20_000,))
    borders = bd.fit_borders(samples, 50)
    assert borders.shape == (51,)
    assert torch.all(borders[1:] > borders[:-1])
    counts = torch.bucketize(samples, borders[1:-1]).bincount(minlength=50)
    assert torch.all((counts - 400).abs() <= 2)
    assert borders[0] == samples.min() and borders[-1] == samples.max()


def test_fit_borders_spread_ties_of_discrete_samples():
    samples = torch.tensor([0.0] * 500 + [1.0] * 500 + [float("nan"), float("inf")])
    borders = bd.fit_borders(samples, 8)
    assert torch.isfinite(borders).all()
    assert torch.all(borders[1:] - borders[:-1] >= 1e-3 - 1e-7)


def test_mean_counts_outer_bars_at_the_given_tail_centres():
    borders = torch.tensor([-10.0, -1.0, 0.0, 1.0, 30.0])
    logits = torch.log(torch.tensor([0.1, 0.4, 0.4, 0.1]))
    inner = 0.4 * -0.5 + 0.4 * 0.5
    assert float(bd.mean(logits, borders, tail_centres=(-2.0, 3.0))) == pytest.approx(
        inner + 0.1 * -2.0 + 0.1 * 3.0)
    left, right = bd.half_normal_tail_means(borders)
    assert float(bd.mean(logits, borders)) == pytest.approx(inner + 0.1 * float(left) + 0.1 * float(right))
    assert float(right) > 30.0  # the half-normal reaches past the outermost border


def test_bar_nodes_give_the_mean_for_the_identity():
    logits = random_logits(3, len(BORDERS) - 1, seed=4)
    values = bd.bar_nodes(BORDERS.double()).mean(-1)
    inner = torch.softmax(logits.double(), -1)[:, 1:-1] @ values[1:-1]
    centres = (BORDERS[1:-2] + BORDERS[2:-1]).double() / 2
    torch.testing.assert_close(inner, torch.softmax(logits.double(), -1)[:, 1:-1] @ centres)
    # the tails: a midpoint rule in the half-normal's mass, within 0.5 % of its mean
    torch.testing.assert_close(values[[0, -1]], torch.stack(bd.half_normal_tail_means(BORDERS.double())), rtol=5e-3,
                               atol=0)


def test_bar_nodes_integrate_a_nonlinear_function():
    logits = random_logits(3, len(BORDERS) - 1, seed=5)
    grid = torch.linspace(-60.0, 60.0, 400_001).double()
    density = bd.log_density(logits[:, None, :].expand(-1, len(grid), -1), BORDERS, grid.float().expand(3, -1)).exp()
    numerical = torch.trapezoid(density.double() * torch.tanh(grid), grid, dim=-1)
    by_nodes = torch.softmax(logits.double(), -1) @ torch.tanh(bd.bar_nodes(BORDERS.double())).mean(-1)
    torch.testing.assert_close(by_nodes, numerical, rtol=0, atol=5e-3)
