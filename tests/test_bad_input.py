"""Bad input gets an error that names the argument (and the column or row) and the fix."""

import numpy as np
import pandas as pd
import pytest

from skcfm import CFMCateEstimator
from skcfm._validation import check_frame, check_matrix, check_vector


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    T = (rng.random(60) < 0.5).astype(int)
    Y = X.a + T + rng.normal(size=60)
    return X, T, Y


def _fit(model, X, T, Y, **params):
    return CFMCateEstimator(model=model, n_estimators=1, random_state=0, **params).fit(X, T, Y)


def test_repeated_column_names_are_named_as_such(tiny_model, data):
    # was: "X has non-numeric columns ['a', 'a']"
    X, T, Y = data
    repeated = X.set_axis(["a", "a", "c"], axis=1)
    with pytest.raises(ValueError, match=r"X has repeated column names \['a'\]; give each column its own name"):
        _fit(tiny_model, repeated, T, Y)


@pytest.mark.parametrize("wrap", [list, lambda v: pd.Series(v, dtype=object), lambda v: np.array(v, dtype=object)])
def test_a_treatment_mixing_numbers_and_strings_is_refused(tiny_model, data, wrap):
    # was: numpy's "'<' not supported between instances of 'str' and 'int'"
    X, T, Y = data
    mixed = wrap([0, "1"] + T[2:].tolist())
    with pytest.raises(TypeError, match=r"T mixes value types \(number, str\): 0 at row 0, '1' at row 1; give every"):
        _fit(tiny_model, X, mixed, Y)


def test_numbers_of_several_types_are_one_kind():
    assert check_vector(np.array([0, 1.5, True], dtype=object), "T", numeric=False).tolist() == [0, 1.5, True]
    assert check_vector(["a", "b"], "T", numeric=False).tolist() == ["a", "b"]


@pytest.mark.parametrize("arm_outcomes", [False, "auto"])
def test_a_covariate_beyond_float32_is_refused_by_name(tiny_model, data, arm_outcomes):
    # was: all NaN effects (without arm outcome columns) or scikit-learn's "value too large for dtype('float32')"
    X, T, Y = data
    huge = X.copy()
    huge.loc[3, "b"] = 1e300
    with pytest.raises(ValueError, match=r"X holds 1e\+300 \(row 3, column 'b'\), beyond the largest magnitude"):
        _fit(tiny_model, huge, T, Y, inference_config={"arm_outcomes": arm_outcomes})


def test_an_outcome_beyond_float32_is_refused_by_name(tiny_model, data):
    X, T, Y = data
    with pytest.raises(ValueError, match=r"Y holds -1e\+200 \(row 5\), beyond .*rescale it"):
        _fit(tiny_model, X, T, Y.where(Y.index != 5, -1e200))


def test_nan_is_located_by_the_frame_s_column_label(tiny_model, data):
    X, T, Y = data
    missing = X.copy()
    missing.loc[7, "c"] = np.nan
    with pytest.raises(ValueError, match=r"X contains NaN or infinity \(first at row 7, column 'c'\); impute or drop"):
        _fit(tiny_model, missing, T, Y)


def test_nan_in_an_array_is_located_by_position():
    with pytest.raises(ValueError, match=r"row 1, column 0\)"):
        check_matrix(np.array([[1.0, 2.0], [np.nan, 3.0]]), "W")


def test_string_columns_are_named_with_their_dtype_and_the_fix():
    frame = pd.DataFrame({"age": [1.0, 2.0], "city": ["x", "y"]})
    with pytest.raises(TypeError, match=r"X has non-numeric columns \['city'\] .*pandas.get_dummies"):
        check_frame(frame, "X")


def test_regressor_names_a_string_column_and_a_huge_value(tiny_model):
    from skcfm import GraphConditionedCFMRegressor

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"t": rng.integers(0, 2, 40), "a": rng.normal(size=40), "city": ["x", "y"] * 20})
    y = rng.normal(size=40)
    reg = GraphConditionedCFMRegressor(model=tiny_model, treatment="t", n_estimators=1)
    with pytest.raises(TypeError, match="city"):
        reg.fit(X, y)
    X = X.drop(columns="city").assign(a=lambda f: f.a.where(f.index != 3, 1e300))
    with pytest.raises(ValueError, match="1e\\+300"):
        reg.fit(X, y)


def test_training_resume_names_a_truncated_checkpoint(tmp_path):
    from skcfm.training.train import load_checkpoint

    path = tmp_path / "last.pt"
    path.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ValueError, match="last.pt could not be read as a training checkpoint") as error:
        load_checkpoint(path)
    assert "weights_only" not in str(error.value)


@pytest.mark.parametrize("argument", ["T", "Y"])
def test_complex_treatment_or_outcome_is_refused(tiny_model, data, argument):
    # was: Y's imaginary part dropped with only numpy's ComplexWarning; T's values taken as two levels
    X, T, Y = data
    values = {"T": T, "Y": Y.to_numpy()}
    values[argument] = values[argument] + 1j
    with pytest.raises(TypeError, match=f"{argument} holds complex numbers; give real values"):
        _fit(tiny_model, X, values["T"], values["Y"])


def test_context_size_and_random_state_are_checked_by_name(tiny_model, data):
    from skcfm import GraphConditionedCFMRegressor

    X, T, Y = data
    with pytest.raises(ValueError, match=r"context_size must be a positive integer >= 2; got 1"):
        _fit(tiny_model, X, T, Y, context_size=1)  # was: torch's "quantile() input tensor must be non-empty"
    with pytest.raises(ValueError, match=r"random_state='x'; expected None, an integer or a numpy RandomState"):
        CFMCateEstimator(model=tiny_model, random_state="x").fit(X, T, Y)
    D = X.assign(t=T)
    with pytest.raises(ValueError, match=r"context_size must be a positive integer >= 2; got 1"):
        GraphConditionedCFMRegressor(model=tiny_model, treatment="t", context_size=1).fit(D, Y)
    with pytest.raises(ValueError, match=r"random_state='x'"):
        GraphConditionedCFMRegressor(model=tiny_model, treatment="t", random_state="x").fit(D, Y.to_numpy())


def test_regressor_refuses_a_string_outcome_by_name(tiny_model, data):
    # was: numpy's "ufunc 'absolute' did not contain a loop with signature matching types"
    from skcfm import GraphConditionedCFMRegressor

    X, T, _ = data
    with pytest.raises(TypeError, match=r"y must hold real numbers; got dtype <U1"):
        GraphConditionedCFMRegressor(model=tiny_model, treatment="t").fit(X.assign(t=T), np.array(["a", "b"] * 30))


def test_export_model_names_what_a_checkpoint_lacks(tmp_path):
    # was: a bare KeyError: 'model'
    from skcfm.pretrained import export_model

    with pytest.raises(ValueError, match=r"checkpoint lacks \['model', 'step'\]; expected a training checkpoint"):
        export_model({"train_config": {}}, tmp_path / "cfm")


def test_a_checkpoint_folder_is_named_as_a_folder(tmp_path):
    # was: "training checkpoint ... not found" for a folder that exists
    from skcfm.pretrained import read_checkpoint

    with pytest.raises(IsADirectoryError, match=r"is a folder; pass the checkpoint file in it \(a run's last.pt\)"):
        read_checkpoint(tmp_path)


@pytest.mark.parametrize(("case", "message"), [
    ("lengths", r"X has 60 rows and y has 55; y needs one value per row of X"),
    ("3-d X", r"^X: Found array with dim 3"),
    ("empty X", r"^X: Found array with 0 sample"),
    ("complex X", r"^X: Complex data not supported"),
    ("2-d y", r"^y: y should be a 1d array"),
])
def test_regressor_says_whether_x_or_y_fails_scikit_learns_checks(tiny_model, data, case, message):
    # scikit-learn's own messages: "Found input variables with inconsistent numbers of samples: [60, 55]", ...
    from skcfm import GraphConditionedCFMRegressor

    X, T, Y = data
    D, y = X.assign(t=T).to_numpy(), Y.to_numpy()
    D, y = {"lengths": (D, y[:55]), "3-d X": (D[:, :, None], y), "empty X": (D[:0], y[:0]),
            "complex X": (D + 1j, y), "2-d y": (D, np.c_[y, y])}[case]
    with pytest.raises(ValueError, match=message):
        GraphConditionedCFMRegressor(model=tiny_model, treatment=3).fit(D, y)


def test_regressor_names_x_when_its_columns_differ_from_fit(tiny_model, data):
    from skcfm import GraphConditionedCFMRegressor

    X, T, Y = data
    reg = GraphConditionedCFMRegressor(model=tiny_model, treatment="t", n_estimators=1).fit(X.assign(t=T), Y.to_numpy())
    with pytest.raises(ValueError, match=r"^X: The feature names should match"):
        reg.predict(X.assign(t=T).rename(columns={"c": "z"}))
