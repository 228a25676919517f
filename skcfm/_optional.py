"""Optional dependencies: import them where they are used, and say which extra provides them.

The core of skcfm (the estimators, the pretrained weights, the graph helpers) needs only
numpy, pandas, scipy, scikit-learn, torch, networkx, safetensors and EconML. DoWhy,
matplotlib, tqdm, Dask and Spark are extras, imported on first use so that
``import skcfm`` stays quick and an environment without them still works.

EconML imports DoWhy eagerly when DoWhy is installed (``econml.dowhy`` is imported by
every EconML estimator), which costs seconds and thousands of modules (DoWhy brings
matplotlib, statsmodels, sympy and causal-learn), and sparse (numba, llvmlite) in
``econml.utilities``. :func:`defer_econml_imports` makes those imports lazy: EconML then
loads DoWhy the first time a DoWhy feature is used, and sparse the first time it meets a
sparse array.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import ModuleType

__all__ = ["import_optional"]

#: What each extra is called in messages, by the extra's name in ``pyproject.toml``.
_EXTRA_LABELS = {
    "dowhy": "DoWhy",
    "plot": "matplotlib",
    "train": "tqdm",
    "dask": "Dask",
    "spark": "PySpark",
    "docs": "MkDocs",
}


def import_optional(name: str, *, extra: str, purpose: str | None = None) -> ModuleType:
    """Import an optional dependency, or fail with the ``pip install`` line that provides it.

    Parameters
    ----------
    name : str
        The module to import, e.g. ``"dowhy"`` or ``"matplotlib.pyplot"``.
    extra : str
        The skcfm extra that installs it (``"dowhy"``, ``"plot"``, ``"train"``, ``"dask"``,
        ``"spark"``), named in the error message.
    purpose : str, optional
        What needs the module, e.g. ``"CFMCateEstimator.plot_effects"``; it starts the
        message so the user sees which call asked for the extra.

    Returns
    -------
    module : module
        The imported module.

    Raises
    ------
    ImportError
        If the module cannot be imported; the message reads like
        ``"... needs DoWhy: pip install skcfm[dowhy]"`` and chains the original error.

    Examples
    --------
    >>> from skcfm._optional import import_optional
    >>> import_optional("json", extra="dowhy").__name__
    'json'
    >>> import_optional("no_such_module_xyz", extra="plot", purpose="plotting")
    Traceback (most recent call last):
    ...
    ImportError: plotting needs matplotlib: pip install skcfm[plot] (no module named 'no_such_module_xyz')
    """
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        label = _EXTRA_LABELS.get(extra, name.split(".")[0])
        who = purpose or f"importing {name}"
        raise ImportError(
            f"{who} needs {label}: pip install skcfm[{extra}] (no module named {name.split('.')[0]!r})"
        ) from exc


# --- EconML without an eager DoWhy -------------------------------------------------------


class _LazyModule(ModuleType):
    """A stand-in for a module that is imported on first attribute access.

    It is bound in one module's namespace and is never left in ``sys.modules``, so
    ``importlib.import_module`` returns the real module.
    """

    def __init__(self, name: str):
        super().__init__(name)

    def __getattr__(self, attr: str):
        return getattr(importlib.import_module(self.__name__), attr)


def _lazy_causal_model(*args, **kwargs):
    """``dowhy.CausalModel``, imported when EconML's DoWhy wrapper first builds one."""
    from dowhy import CausalModel

    return CausalModel(*args, **kwargs)


class _BlockDoWhy(importlib.abc.MetaPathFinder):
    """Makes ``import dowhy`` fail while EconML's ``econml.dowhy`` module executes."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "dowhy" or fullname.startswith("dowhy."):
            raise ModuleNotFoundError(f"No module named {fullname!r} (deferred by skcfm)", name=fullname)
        return None


class _DeferringLoader(importlib.abc.Loader):
    """Executes one EconML module with its heavy imports deferred."""

    def __init__(self, loader: importlib.abc.Loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        if module.__name__ == "econml.utilities":
            # `import sparse as sp` loads numba and llvmlite (hundreds of modules); EconML
            # uses `sp` only inside functions, for inputs that are sparse arrays. Bind `sp`
            # to a stand-in that imports sparse on first use; sys.modules keeps no trace.
            stand_in = _LazyModule("sparse")
            sys.modules["sparse"] = stand_in
            try:
                self._loader.exec_module(module)
            finally:
                if sys.modules.get("sparse") is stand_in:
                    del sys.modules["sparse"]
            return
        blocker = _BlockDoWhy()
        sys.meta_path.insert(0, blocker)
        try:
            self._loader.exec_module(module)
        finally:
            sys.meta_path.remove(blocker)
        # econml.dowhy uses only ``dowhy.__version__`` and ``CausalModel(...)``, inside its
        # methods; with DoWhy installed, point both at imports made on first use. Anything
        # else (an EconML that changed this module) keeps EconML's own placeholders.
        if type(getattr(module, "dowhy", None)).__name__ == "MissingModule":
            module.dowhy = _LazyModule("dowhy")
        if type(getattr(module, "CausalModel", None)).__name__ == "MissingModule":
            module.CausalModel = _lazy_causal_model


class _DeferEconmlImports(importlib.abc.MetaPathFinder):
    """Finds ``econml.dowhy`` and ``econml.utilities`` with loaders that defer their heavy imports."""

    def __init__(self):
        self.pending: set[str] = set()

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.pending:
            return None
        self.pending.discard(fullname)
        if not self.pending:
            _remove_finder()
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _DeferringLoader(spec.loader)
        return spec


_FINDER = _DeferEconmlImports()


def _remove_finder() -> None:
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)


def defer_econml_imports() -> None:
    """Make EconML import DoWhy and sparse on first use rather than when it loads.

    Every EconML estimator imports ``econml.dowhy``, which imports DoWhy when it is
    installed (and with it matplotlib, statsmodels, sympy and causal-learn), and
    ``econml.utilities``, which imports sparse (and with it numba and llvmlite): seconds of
    start-up and thousands of modules that the CFM estimators never use. This installs a
    one-shot import hook for those two EconML modules:

    - ``econml.dowhy`` executes with DoWhy hidden, then its two references to DoWhy are
      pointed at imports made on first use (``est.dowhy`` and skcfm's DoWhy plug-in work
      as before);
    - ``econml.utilities`` executes with sparse as a lazily executed module.

    Does nothing for a module that is already imported, or whose dependency is not
    installed (EconML's own placeholder then raises its message on use). The hook removes
    itself once both modules have been found.
    """
    if _FINDER in sys.meta_path:
        return
    _FINDER.pending.clear()
    if "econml.dowhy" not in sys.modules and "dowhy" not in sys.modules and importlib.util.find_spec("dowhy"):
        _FINDER.pending.add("econml.dowhy")
    if "econml.utilities" not in sys.modules and "sparse" not in sys.modules:
        _FINDER.pending.add("econml.utilities")
    if _FINDER.pending:
        sys.meta_path.insert(0, _FINDER)
