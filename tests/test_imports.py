"""`import skcfm` and `from skcfm import CFMCateEstimator` load none of the optional extras.

Each check runs in a fresh interpreter, since this test process has imported everything.
"""

import json
import subprocess
import sys

import pytest

from skcfm._optional import import_optional

# top-level modules of the extras (DoWhy and what it brings, plotting, progress bars,
# Dask, Spark) and of EconML's heavy dependencies that the CFM estimators never use
EXTRAS = ["dowhy", "matplotlib", "statsmodels", "sympy", "causallearn", "cvxpy", "numba", "llvmlite", "sparse",
          "shap", "lightgbm", "tqdm", "pydot", "dask", "distributed", "pyspark", "mkdocs"]

# measured: about 2,800 modules (torch 766, scipy 475, sklearn 307, pandas 294, networkx
# 285); with DoWhy imported eagerly it was about 4,300
MAX_MODULES = 3300


def _modules_after(code: str) -> list[str]:
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def torch_modules() -> set[str]:
    """What `import torch` alone loads: torch itself imports tqdm and pydot when they are installed."""
    return set(_modules_after("import torch"))


@pytest.mark.parametrize(
    "code",
    ["import skcfm", "import skcfm; from skcfm import CFMCateEstimator, GraphConditionedCFMRegressor"],
)
def test_import_loads_no_extras(code, torch_modules):
    modules = _modules_after(code)
    loaded = {name.split(".")[0] for name in modules}
    unexpected = sorted(name for name in EXTRAS if name in loaded and name not in torch_modules)
    assert not unexpected, f"{code!r} imported extras: {unexpected}"
    assert len(modules) < MAX_MODULES, f"{code!r} loaded {len(modules)} modules"


def test_econml_dowhy_still_works_after_deferral():
    pytest.importorskip("dowhy", reason="the [dowhy] extra is not installed")
    code = (
        "import skcfm, sys; from skcfm import CFMCateEstimator\n"
        "assert 'dowhy' not in sys.modules\n"
        "import econml.dowhy\n"
        "import dowhy\n"
        "assert econml.dowhy.dowhy.__version__ == dowhy.__version__\n"
        "from skcfm.dowhy import dowhy_method_name\n"
        "import econml.utilities as u, numpy as np\n"
        "assert not u.iscoo(np.zeros(2))\n"
        "import sparse\n"
        "assert u.iscoo(sparse.COO.from_numpy(np.eye(2)))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_extra_names_the_pip_install():
    with pytest.raises(ImportError, match=r"needs DoWhy: pip install skcfm\[dowhy\]"):
        import_optional("skcfm_no_such_module", extra="dowhy", purpose="the DoWhy plug-in")
    with pytest.raises(ImportError, match=r"pip install skcfm\[plot\]") as info:
        import_optional("skcfm_no_such_module.pyplot", extra="plot")
    assert isinstance(info.value.__cause__, ImportError)
    assert import_optional("json", extra="plot").__name__ == "json"
