"""Causal data sets in scikit-learn's style: simulated, shipped and semi-synthetic benchmarks.

Every loader returns a :class:`sklearn.utils.Bunch` whose ``data``, ``treatment`` and
``outcome`` are what an estimator may see, kept apart from the ground truth (``truth``:
potential outcomes and individual effects, where known), so that benchmark code cannot
hand the truth to a model by accident. Imported from here, they are defined by source:

- :func:`make_confounded_treatment` simulates confounded data with a known effect and
  needs no files (:mod:`skcfm.simulated_data`);
- :func:`load_nsw` reads the NSW experimental sample (LaLonde; Dehejia & Wahba) shipped
  inside the package, so examples run offline (:mod:`skcfm.nsw_data`);
- :func:`load_ihdp`, :func:`load_acic2016` and :func:`load_lalonde` read one realization of
  the semi-synthetic benchmarks (IHDP-100, ACIC 2016, RealCause LaLonde) from a local data
  folder (:func:`get_data_home`), and :func:`train_test_split_protocol` splits its rows
  as the CFM papers do (:mod:`skcfm.benchmark_data`, which says how the folder is laid out).
"""

from __future__ import annotations

from .benchmark_data import get_data_home, load_acic2016, load_ihdp, load_lalonde, train_test_split_protocol
from .nsw_data import load_nsw
from .simulated_data import make_confounded_treatment

__all__ = [
    "get_data_home",
    "load_acic2016",
    "load_ihdp",
    "load_lalonde",
    "load_nsw",
    "make_confounded_treatment",
    "train_test_split_protocol",
]
