"""Tests for skcfm.datasets against the shared copies of the benchmark data.

Expected numbers (shapes, ATEs) are those stated in the data READMEs under
``../shared/data``; the LaLonde sample-0 ATEs are pinned from the files themselves.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import skcfm.datasets
from skcfm.datasets import (
    get_data_home,
    load_acic2016,
    load_ihdp,
    load_lalonde,
    load_nsw,
    train_test_split_protocol,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_data = pytest.mark.skipif(
    not DATA.is_dir(), reason=f"shared benchmark data not found at {DATA}"
)


# --- get_data_home -------------------------------------------------------------------


def test_get_data_home_prefers_argument(monkeypatch, tmp_path):
    monkeypatch.setenv("SKCFM_DATA", "/somewhere/else")
    assert get_data_home(tmp_path) == tmp_path


def test_get_data_home_reads_env_var(monkeypatch, tmp_path):
    monkeypatch.setenv("SKCFM_DATA", str(tmp_path))
    assert get_data_home() == tmp_path


def test_get_data_home_defaults_to_user_cache_dir(monkeypatch):
    monkeypatch.delenv("SKCFM_DATA", raising=False)
    home = get_data_home()
    assert "skcfm" in home.parts
    assert home.is_absolute()


# --- train_test_split_protocol --------------------------------------------------------


def test_split_protocol_matches_reference_recipe():
    train, test = train_test_split_protocol(4802, 3)
    perm = np.random.default_rng(45).permutation(4802)
    np.testing.assert_array_equal(train, perm[:4321])
    np.testing.assert_array_equal(test, perm[4321:])


@pytest.mark.parametrize("n, n_train", [(4802, 4321), (16177, 14559), (2675, 2407)])
def test_split_protocol_sizes(n, n_train):
    train, test = train_test_split_protocol(n, 0)
    assert len(train) == n_train
    assert len(test) == n - n_train
    assert sorted(np.concatenate([train, test])) == list(range(n))


def test_split_protocol_rejects_bad_test_size():
    with pytest.raises(ValueError, match="test_size"):
        train_test_split_protocol(100, 0, test_size=1.5)
    with pytest.raises(ValueError, match="realization must be a non-negative integer; got -50"):
        train_test_split_protocol(100, -50)


# --- argument validation (no data needed) ----------------------------------------------


@pytest.mark.parametrize("realization", [-1, 100])
def test_load_ihdp_rejects_realization_out_of_range(realization):
    with pytest.raises(ValueError, match=r"realization must be in \[0, 99\]"):
        load_ihdp(realization)


def test_load_ihdp_rejects_unknown_split():
    with pytest.raises(ValueError, match="split must be one of"):
        load_ihdp(0, split="valid")


@pytest.mark.parametrize("realization", [0, 11])
def test_load_acic2016_rejects_realization_out_of_range(realization):
    with pytest.raises(ValueError, match=r"realization must be in \[1, 10\]"):
        load_acic2016(realization)


def test_load_acic2016_rejects_non_integer_realization():
    with pytest.raises(TypeError, match="realization must be an int"):
        load_acic2016(1.0)


def test_load_acic2016_raw_requires_as_frame():
    with pytest.raises(ValueError, match="as_frame=True"):
        load_acic2016(1, categorical="raw")


def test_load_acic2016_rejects_unknown_categorical():
    with pytest.raises(ValueError, match="categorical must be"):
        load_acic2016(1, categorical="ordinal")


def test_load_lalonde_rejects_sample_out_of_range():
    with pytest.raises(ValueError, match=r"sample must be in \[0, 99\]"):
        load_lalonde(100)


def test_load_lalonde_rejects_unknown_group():
    with pytest.raises(ValueError, match="group must be"):
        load_lalonde(0, group="nsw")


# --- missing files ----------------------------------------------------------------------


def test_missing_ihdp_file_says_where_and_how(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_ihdp(0, split="test", data_home=tmp_path)
    message = str(info.value)
    assert str(tmp_path / "ihdp" / "ihdp_npci_1-100.test.npz") in message
    assert "CausalPFN" in message
    assert "SKCFM_DATA" in message


def test_missing_acic_file_names_upstream(tmp_path):
    with pytest.raises(FileNotFoundError, match="causallib") as info:
        load_acic2016(2, data_home=tmp_path)
    assert str(tmp_path / "acic2016" / "x.csv.gz") in str(info.value)


def test_missing_lalonde_file_names_upstream(tmp_path):
    with pytest.raises(FileNotFoundError, match="bradyneal/realcause") as info:
        load_lalonde(7, group="psid", data_home=tmp_path)
    assert "lalonde_psid_sample7.csv.gz" in str(info.value)


def test_missing_file_error_honours_env_var(monkeypatch, tmp_path):
    monkeypatch.setenv("SKCFM_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        load_lalonde(0)


# --- IHDP -----------------------------------------------------------------------------------


@needs_data
@pytest.mark.parametrize("split, n", [("train", 672), ("test", 75)])
def test_load_ihdp_shapes(split, n):
    b = load_ihdp(0, split=split, data_home=DATA)
    assert b.data.shape == (n, 25)
    assert b.treatment.shape == b.outcome.shape == (n,)
    assert set(b.truth) == {"mu0", "mu1", "ite", "ycf"}
    assert all(v.shape == (n,) for v in b.truth.values())
    assert b.feature_names == [f"x{j}" for j in range(1, 26)]
    assert (b.realization, b.split) == (0, split)


@needs_data
def test_load_ihdp_keeps_truth_out_of_visible_keys():
    b = load_ihdp(0, data_home=DATA)
    assert not {"mu0", "mu1", "ite", "ycf"} & set(b)


@needs_data
def test_load_ihdp_first_realization_ate_and_att():
    # README: realization 1 has mean(mu1 - mu0) = 4.016 over all 747 units; the effect on
    # the treated is exactly 4 and 139 units are treated.
    tr, te = (load_ihdp(0, split=s, data_home=DATA) for s in ("train", "test"))
    ite = np.concatenate([tr.truth.ite, te.truth.ite])
    t = np.concatenate([tr.treatment, te.treatment])
    assert len(ite) == 747
    assert ite.mean() == pytest.approx(4.016, abs=5e-4)
    assert ite[t == 1].mean() == pytest.approx(4.0, abs=1e-9)
    assert t.sum() == 139


@needs_data
def test_load_ihdp_realizations_differ_and_att_is_four():
    tr, te = (load_ihdp(99, split=s, data_home=DATA) for s in ("train", "test"))
    ite = np.concatenate([tr.truth.ite, te.truth.ite])
    t = np.concatenate([tr.treatment, te.treatment])
    assert ite[t == 1].mean() == pytest.approx(4.0, abs=1e-9)
    assert not np.allclose(tr.truth.ite, load_ihdp(0, data_home=DATA).truth.ite)


@needs_data
def test_load_ihdp_outcome_is_factual():
    b = load_ihdp(5, data_home=DATA)
    mu_f = np.where(b.treatment == 1, b.truth.mu1, b.truth.mu0)
    # README: yf - mu_f is standard normal noise
    assert np.std(b.outcome - mu_f) == pytest.approx(1.0, abs=0.15)


@needs_data
def test_load_ihdp_as_frame():
    b = load_ihdp(0, split="test", data_home=DATA, as_frame=True)
    assert isinstance(b.data, pd.DataFrame)
    assert list(b.data.columns) == b.feature_names
    assert isinstance(b.treatment, pd.Series) and b.treatment.name == "t"
    assert isinstance(b.truth.ite, pd.Series)
    assert list(b.frame.columns) == b.feature_names + ["t", "yf"]
    arrays = load_ihdp(0, split="test", data_home=DATA)
    np.testing.assert_array_equal(b.data.to_numpy(), arrays.data)
    assert arrays.frame is None


# --- ACIC 2016 -----------------------------------------------------------------------------

# README table: realization -> (treated rows, ATE over all rows, ATE over the 481 test rows)
ACIC_README = {
    1: (858, 2.1281, 2.1704),
    2: (1497, 4.6792, 4.6792),
    4: (1736, 4.7960, 4.9093),
    10: (1191, 4.2234, 4.2529),
}


@needs_data
@pytest.mark.parametrize("realization", sorted(ACIC_README))
def test_load_acic2016_matches_readme(realization):
    treated, ate, ate_test = ACIC_README[realization]
    b = load_acic2016(realization, data_home=DATA)
    assert b.data.shape == (4802, 82)
    assert b.data.dtype == np.float64
    assert int(b.treatment.sum()) == treated
    assert b.truth.ite.mean() == pytest.approx(ate, abs=5e-5)
    _, test = train_test_split_protocol(4802, realization)
    assert len(test) == 481
    assert b.truth.ite[test].mean() == pytest.approx(ate_test, abs=5e-5)


@needs_data
def test_load_acic2016_outcome_is_observed_potential_outcome():
    b = load_acic2016(3, data_home=DATA)
    expected = np.where(b.treatment == 1, b.truth.y1, b.truth.y0)
    np.testing.assert_array_equal(b.outcome, expected)
    assert not {"mu0", "mu1", "ite", "y0", "y1"} & set(b)


@needs_data
def test_load_acic2016_onehot_columns_are_deterministic():
    b = load_acic2016(1, data_home=DATA)
    names = b.feature_names
    assert names[:2] == ["x_1", "x_3"]
    dummies = [n for n in names if n.startswith(("x_2_", "x_21_", "x_24_"))]
    assert len(dummies) == 6 + 16 + 5
    assert dummies[:6] == [f"x_2_{c}" for c in "ABCDEF"]
    # each categorical's dummies sum to one on every row
    x = pd.DataFrame(b.data, columns=names)
    assert (x[[f"x_24_{c}" for c in "ABCDE"]].sum(axis=1) == 1).all()
    assert load_acic2016(7, data_home=DATA).feature_names == names


@needs_data
def test_load_acic2016_raw_keeps_strings():
    b = load_acic2016(1, data_home=DATA, as_frame=True, categorical="raw")
    assert b.data.shape == (4802, 58)
    assert set(b.data["x_24"]) == set("ABCDE")
    assert b.frame.shape == (4802, 60)


@needs_data
def test_load_acic2016_as_frame_onehot():
    b = load_acic2016(1, data_home=DATA, as_frame=True)
    assert isinstance(b.data, pd.DataFrame) and b.data.shape == (4802, 82)
    assert b.outcome.name == "y" and b.treatment.name == "z"


# --- RealCause LaLonde -------------------------------------------------------------------------


@needs_data
@pytest.mark.parametrize(
    "group, n, ate", [("cps", 16177, -6977.1277), ("psid", 2675, -13856.3725)]
)
def test_load_lalonde_shapes_and_ate(group, n, ate):
    b = load_lalonde(0, group=group, data_home=DATA)
    assert b.data.shape == (n, 8)
    assert b.feature_names == [
        "age", "education", "black", "hispanic", "married", "nodegree", "re74", "re75",
    ]
    assert set(b.truth) == {"ite", "y0", "y1"}
    # README: true ATE of a sample = mean(ite); ite = y1 - y0 (stored rounded)
    assert b.truth.ite.mean() == pytest.approx(ate, abs=1e-3)
    np.testing.assert_allclose(b.truth.ite, b.truth.y1 - b.truth.y0, atol=0.05)
    np.testing.assert_array_equal(
        b.outcome, np.where(b.treatment == 1, b.truth.y1, b.truth.y0)
    )


@needs_data
def test_load_lalonde_samples_differ():
    a = load_lalonde(0, group="psid", data_home=DATA)
    b = load_lalonde(49, group="psid", data_home=DATA)
    np.testing.assert_array_equal(a.data, b.data)
    assert not np.allclose(a.truth.ite, b.truth.ite)


@needs_data
def test_load_lalonde_as_frame():
    b = load_lalonde(1, group="psid", data_home=DATA, as_frame=True)
    assert list(b.frame.columns) == b.feature_names + ["t", "y"]
    assert isinstance(b.truth.ite, pd.Series)


@needs_data
def test_loaders_read_from_env_var(monkeypatch):
    monkeypatch.setenv("SKCFM_DATA", str(DATA))
    assert load_lalonde(0, group="psid").data.shape == (2675, 8)
    assert load_ihdp(0, split="test").data.shape == (75, 25)


# -- simulated example data ------------------------------------------------------------
def test_make_confounded_treatment_is_confounded_with_known_effect():
    from skcfm.datasets import make_confounded_treatment

    data = make_confounded_treatment(4000, random_state=0)
    t, y = data.treatment, data.outcome
    naive = y[t == 1].mean() - y[t == 0].mean()
    assert data.data.shape == (4000, 5)
    assert abs(data.truth.ite.mean() - 1.0) < 0.05  # tau = 1 + 0.5 x2, x2 ~ N(0, 1)
    assert naive - data.truth.ite.mean() > 0.5  # x0, x1 raise both treatment and outcome
    np.testing.assert_allclose(data.truth.response(data.data, t), data.truth.mu0 + t * data.truth.ite)


def test_make_confounded_treatment_is_reproducible_and_continuous():
    from skcfm.datasets import make_confounded_treatment

    a = make_confounded_treatment(50, treatment="continuous", random_state=3, as_frame=True)
    b = make_confounded_treatment(50, treatment="continuous", random_state=3, as_frame=True)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert a.treatment.nunique() == 50 and "mu0" not in a.truth


@pytest.mark.parametrize(("kwargs", "match"), [({"n_features": 2}, "n_features"), ({"treatment": "dose"}, "treatment")])
def test_make_confounded_treatment_rejects_bad_arguments(kwargs, match):
    from skcfm.datasets import make_confounded_treatment

    with pytest.raises(ValueError, match=match):
        make_confounded_treatment(10, **kwargs)


def test_load_nsw_is_shipped_and_matches_the_experiment():
    nsw = load_nsw()
    assert nsw.data.shape == (445, 8) and nsw.data.dtype == float
    assert nsw.feature_names == ["age", "educ", "black", "hisp", "married", "nodegree", "re74", "re75"]
    assert nsw.treatment.sum() == 185
    assert nsw.experimental_ate == pytest.approx(1794.34, abs=0.01)  # Dehejia & Wahba's experimental benchmark
    assert not nsw.truth


def test_load_nsw_as_frame_and_return_x_y():
    frame = load_nsw(as_frame=True).frame
    assert list(frame.columns) == ["age", "educ", "black", "hisp", "married", "nodegree", "re74", "re75", "treat",
                                   "re78"]
    assert not frame.isna().any().any()
    X, t, y = load_nsw(return_X_y=True)
    np.testing.assert_array_equal(X, frame.iloc[:, :8].to_numpy(dtype=float))
    np.testing.assert_array_equal(t, frame["treat"])
    np.testing.assert_array_equal(y, frame["re78"])


def test_shipped_data_are_small_and_documented():
    data = Path(skcfm.datasets.__file__).parent / "data"
    assert (data / "nsw.csv").stat().st_size < 100_000
    readme = (data / "README.md").read_text()
    assert "nsw.csv" in readme and "MIT" in readme and "causaldata" in readme
    assert "MIT License" in (data / "LICENSE").read_text()
