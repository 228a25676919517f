"""How skcfm's own computations use the machine's cores.

The ensemble's members are independent, so they run side by side on a pool of threads,
each forward pass on one torch thread (:func:`map_members`). torch's own intra-op threads
wait on each other at every operation, and a core held by another process stalls them all
(on 2 cores a pass ran 5 to 10 times slower with 2 intra-op threads while another process
was busy); whole members per thread degrade to one thread's speed instead. One thread per
member also keeps every answer the same, bit for bit, whatever the number of threads.

The forests skcfm fits take the same number of threads (:func:`n_jobs_or_threads`) and
predict on one, so their sums are added in one order.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from ._config import config_context, get_config

__all__ = [
    "fit_on_threads", "map_members", "model_threads", "n_jobs_or_threads", "n_model_threads", "native_threads_limited",
]

MAX_AUTO_THREADS = 8  # beyond this the Python between torch's operations, under the GIL, dominates
PARALLEL_FOREST_ROWS = 500  # forests on fewer rows fit on one job: their trees are too small to share out

_inside = threading.local()
Item = TypeVar("Item")
Result = TypeVar("Result")


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the platform says)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def n_model_threads() -> int:
    """Threads for skcfm's computations: the ``n_threads`` setting of
    :func:`skcfm.set_config`, "auto" being the process's cores, at most
    ``MAX_AUTO_THREADS``."""
    n_threads = get_config()["n_threads"]
    if n_threads == "auto":
        return min(MAX_AUTO_THREADS, available_cores())
    return int(n_threads)


def n_jobs_or_threads(n_jobs: int | None, n_rows: int | None = None) -> int:
    """A forest's ``n_jobs``: the estimator's own where set, else :func:`n_model_threads`,
    or 1 for fewer than ``PARALLEL_FOREST_ROWS`` rows (``n_rows``), where handing small trees
    to threads costs more than it saves (a 200-row fit with its forests on 2 jobs took 2.8 s,
    on one 2.2 s)."""
    if n_jobs is not None:
        return n_jobs
    return 1 if n_rows is not None and n_rows < PARALLEL_FOREST_ROWS else n_model_threads()


@contextmanager
def model_threads() -> Iterator[None]:
    """Run the enclosed forward passes on one torch thread each (the members run side by
    side instead, :func:`map_members`), then restore torch's setting."""
    import torch

    before = torch.get_num_threads()
    if before != 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if before != 1:
            torch.set_num_threads(before)


def map_members(function: Callable[[Item], Result], items: Iterable[Item]) -> list[Result]:
    """``[function(item) for item in items]``, on up to :func:`n_model_threads` threads.

    Runs in the calling thread where there is one item or one thread, and inside a
    worker of another call (no pool within a pool). Results come in the items' order.
    """
    items = list(items)
    workers = min(n_model_threads(), len(items))
    if workers <= 1 or getattr(_inside, "worker", False):
        return [function(item) for item in items]
    config = get_config()

    def run(item: Item) -> Result:
        _inside.worker = True
        with config_context(**config):  # the caller's settings (they are per thread)
            return function(item)

    with ThreadPoolExecutor(workers, thread_name_prefix="skcfm") as pool:
        return list(pool.map(run, items))


def fit_on_threads(forest, X, *args, n_jobs: int | None = None, **kwargs):
    """Fit ``forest`` (anything with an ``n_jobs`` parameter) on ``X`` (and ``args``) on
    :func:`n_jobs_or_threads` jobs, then set it to predict on one: a parallel fit grows the
    same trees, while a parallel prediction adds them up in whichever order the threads
    finish, so the same seed would give answers that differ in their last digits."""
    forest.set_params(n_jobs=n_jobs_or_threads(n_jobs, len(X))).fit(X, *args, **kwargs)
    return forest.set_params(n_jobs=1)


@contextmanager
def native_threads_limited() -> Iterator[None]:
    """OpenMP and BLAS on one thread inside: scikit-learn's histogram gradient boosting and
    the linear models' BLAS calls spin-wait on their threads as torch's do (a boosting fit
    on 20,000 rows x 20 took 45.7 s on 2 OpenMP threads while another process held a core,
    0.17 s on one)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield
