"""Global configuration, in the style of :func:`sklearn.set_config`.

Two settings: ``progress``, whether long calls (pretraining, fits with cross-fitting,
effects on many rows, benchmarks) show a tqdm progress bar. It is on by default, so a call
that takes minutes says so; tests, logs and batch jobs turn it off with
``skcfm.set_config(progress=False)``, for a block with ``skcfm.config_context``, or for a
whole process tree with the environment variable ``SKCFM_PROGRESS=0``. ``n_threads``, how
many threads skcfm's computations use (:mod:`skcfm._threads`).

Like scikit-learn's, the configuration is per thread: :func:`set_config` changes the calling
thread's configuration and the default that threads started afterwards begin with;
:func:`config_context` changes only the calling thread's, until the block ends.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["config_context", "get_config", "progress_bar", "set_config"]


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    return value.strip().lower() not in {"0", "false", "no", "off"}


_global_config = {"progress": _env_flag("SKCFM_PROGRESS", True), "n_threads": "auto"}
_threadlocal = threading.local()


def _get_threadlocal_config() -> dict:
    if not hasattr(_threadlocal, "global_config"):
        _threadlocal.global_config = _global_config.copy()
    return _threadlocal.global_config


def get_config() -> dict:
    """Retrieve the current values of skcfm's global configuration.

    Returns
    -------
    config : dict
        Keys are the parameter names of :func:`set_config`; a copy, so editing it changes
        nothing.

    Examples
    --------
    >>> import skcfm
    >>> sorted(skcfm.get_config())
    ['n_threads', 'progress']
    """
    return _get_threadlocal_config().copy()


def _check_n_threads(n_threads) -> None:
    if n_threads is None or n_threads == "auto":
        return
    if isinstance(n_threads, bool) or not isinstance(n_threads, int) or n_threads < 1:
        raise ValueError(f"n_threads={n_threads!r}; expected a positive integer or 'auto'")


def set_config(progress: bool | None = None, n_threads: int | str | None = None) -> None:
    """Set skcfm's global configuration.

    Parameters
    ----------
    progress : bool, default=None
        Whether long-running calls show a tqdm progress bar (on stderr, with tqdm's own
        defaults). Bars need tqdm (``pip install skcfm[train]``); without it calls run
        silently. ``None`` leaves the current value unchanged. The initial value is
        ``True`` unless the environment variable ``SKCFM_PROGRESS`` is ``0``, ``false``,
        ``no`` or ``off``.
    n_threads : int or "auto", default=None
        Threads for skcfm's computations: the ensemble's members run side by side, one
        torch thread each, and the forests skcfm fits (where an estimator's ``n_jobs`` is
        None) fit on as many. "auto" (the initial value) is the cores this process may use,
        at most 8. Answers do not depend on it. ``None`` leaves the current value unchanged.

    See Also
    --------
    config_context : Temporarily change the configuration within a block.
    get_config : Retrieve the current configuration.

    Examples
    --------
    >>> import skcfm
    >>> before = skcfm.get_config()["progress"]
    >>> skcfm.set_config(progress=False)
    >>> skcfm.get_config()["progress"]
    False
    >>> skcfm.set_config(progress=before)
    """
    _check_n_threads(n_threads)
    local_config = _get_threadlocal_config()
    if progress is not None:
        local_config["progress"] = bool(progress)
        _global_config["progress"] = bool(progress)
    if n_threads is not None:
        local_config["n_threads"] = n_threads
        _global_config["n_threads"] = n_threads


@contextmanager
def config_context(*, progress: bool | None = None, n_threads: int | str | None = None) -> Iterator[None]:
    """Context manager that changes skcfm's configuration for the enclosed block.

    The previous configuration is restored when the block exits, also on an exception.

    Parameters
    ----------
    progress : bool, default=None
        Whether long-running calls show a progress bar inside the block; ``None`` keeps the
        current value. See :func:`set_config`.
    n_threads : int or "auto", default=None
        Threads for the model's forward passes inside the block; ``None`` keeps the
        current value. See :func:`set_config`.

    Yields
    ------
    None

    See Also
    --------
    set_config : Set the configuration globally.
    get_config : Retrieve the current configuration.

    Examples
    --------
    >>> import skcfm
    >>> with skcfm.config_context(progress=False):
    ...     skcfm.get_config()["progress"]
    False
    """
    local_config = _get_threadlocal_config()
    old_config = local_config.copy()
    _check_n_threads(n_threads)
    if progress is not None:
        local_config["progress"] = bool(progress)
    if n_threads is not None:
        local_config["n_threads"] = n_threads
    try:
        yield
    finally:
        local_config.clear()
        local_config.update(old_config)


class _SilentBar:
    """The part of tqdm's interface that manual progress updates use, doing nothing."""

    def __init__(self, iterable: Iterable | None = None):
        self.iterable = iterable
        self.n = 0

    def __iter__(self):
        return iter(self.iterable if self.iterable is not None else ())

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def update(self, n: float = 1) -> None:
        self.n += n

    def set_postfix(self, *args, **kwargs) -> None:
        pass

    def set_postfix_str(self, *args, **kwargs) -> None:
        pass

    def set_description(self, *args, **kwargs) -> None:
        pass

    def refresh(self, *args, **kwargs) -> None:
        pass

    def close(self) -> None:
        pass

    @staticmethod
    def write(message: str, file=None, end: str = "\n", **kwargs) -> None:
        """Print a message, as ``tqdm.write`` does (messages are not progress)."""
        print(message, file=file if file is not None else sys.stdout, end=end)


def progress_bar(iterable: Iterable | None = None, *, total: float | None = None, desc: str | None = None,
                 disable: bool = False, **kwargs: Any):
    """A tqdm progress bar when progress is switched on and tqdm is installed.

    Long-running skcfm calls wrap their loops in this, so one switch
    (:func:`set_config`) governs every bar and tqdm stays an optional dependency.

    Parameters
    ----------
    iterable : iterable, optional
        What to iterate over, as for ``tqdm(iterable)``. Leave it out for a bar that the
        caller advances with ``bar.update(n)``.
    total : float, optional
        The number of expected iterations (for a manual bar, or an iterable without
        ``len``).
    desc : str, optional
        The bar's label.
    disable : bool, default=False
        Switch this bar off regardless of the configuration (e.g. on all but one
        distributed rank).
    **kwargs
        Passed on to ``tqdm.auto.tqdm`` (e.g. ``unit``, ``initial``, ``leave``, or
        ``delay=2`` so calls that finish quickly show no bar).

    Returns
    -------
    bar : tqdm.auto.tqdm, iterable or object
        A tqdm bar when ``get_config()["progress"]`` is true, ``disable`` is false and
        tqdm can be imported. Otherwise ``iterable`` itself when one was given, and an
        object with tqdm's ``update``, ``set_postfix``, ``set_description``, ``close`` and
        context-manager methods that does nothing when none was (its ``write`` prints, as
        ``tqdm.write`` does).

    Examples
    --------
    >>> import skcfm
    >>> from skcfm._config import progress_bar
    >>> with skcfm.config_context(progress=False):
    ...     rows = progress_bar(range(3), desc="rows")
    ...     bar = progress_bar(total=10, desc="steps")
    >>> rows
    range(0, 3)
    >>> bar.update(5); bar.close()
    """
    if not disable and get_config()["progress"]:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            pass
        else:
            return tqdm(iterable, total=total, desc=desc, **kwargs)
    if iterable is not None:
        return iterable
    return _SilentBar()
