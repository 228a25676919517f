"""Treatment encoding: the user's treatment values (labels or numbers) as the model's T.

A discrete treatment's levels become the codes 0, 1, ... in the order of ``categories``
(the first is the baseline, as in EconML); a continuous treatment is read as it is.
"""

from __future__ import annotations

import re

import numpy as np

from ._validation import check_vector, is_numeric
from .contexts import MAX_DISCRETE_LEVELS

MAX_LEVELS = 50  # a discrete treatment with more levels is refused: use treatment_kind="continuous"
CONTROL_WORDS = {"control", "controls", "untreated", "placebo", "none", "no", "not", "non", "false", "off", "0",
                 "baseline", "reference"}


def level_codes(values: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """The index in ``levels`` of each value (all of them levels), as floats: the model's T."""
    codes = np.empty(len(values))
    for code, level in enumerate(levels):
        codes[values == level] = code
    return codes


def level_hint(levels: list) -> str:
    """How to name the levels to compare, with a level that reads as a control (e.g.
    "untreated") as the reference T0: sorted labels can put "treated" first, and a hint
    that followed the sorted order would flip the effect's sign."""
    control = next((level for level in levels if CONTROL_WORDS & set(re.split(r"[^a-z0-9]+", str(level).lower()))),
                   levels[0])
    other = next(level for level in levels if level != control)
    return (f"pass the levels to compare: T0 is the reference, T1 the treatment, e.g. T0={control!r}, T1={other!r} "
            f"for the effect of {other!r} against {control!r}")


class TreatmentEncoding:
    """The levels of a discrete treatment, or a continuous one, and their codes.

    Parameters
    ----------
    kind : {"auto", "discrete", "continuous"}, default="auto"
        "auto": discrete for labels or at most ``MAX_DISCRETE_LEVELS`` distinct numbers.
    categories : "auto" or list, default="auto"
        The levels of a discrete treatment, in order (the first is the baseline); "auto":
        the sorted distinct values.

    Attributes
    ----------
    kind_ : {"discrete", "continuous"}
    categories_ : ndarray or None
        The levels in code order for a discrete treatment, None for a continuous one.
    """

    def __init__(self, kind: str = "auto", categories="auto") -> None:
        self.kind = kind
        self.categories = categories

    @property
    def binary(self) -> bool:
        """Whether the treatment is discrete with two levels."""
        return self.kind_ == "discrete" and len(self.categories_) == 2

    def fit_transform(self, T_raw: np.ndarray) -> np.ndarray:
        """Learn the kind and levels of the checked training treatment; return its codes.

        Raises where T has no variation, a level has fewer than two rows (an arm the
        model could not read in context), or ``categories`` does not list T's levels.
        """
        levels = np.unique(T_raw)
        if len(levels) < 2:
            raise ValueError(f"T has no variation (every row is {levels.tolist()[0]!r}); an effect cannot be estimated")
        numeric = is_numeric(T_raw)
        kind = self.kind
        if kind == "auto":
            kind = "discrete" if (not numeric or len(levels) <= MAX_DISCRETE_LEVELS) else "continuous"
        if kind == "continuous" and not numeric:
            raise TypeError(f"treatment_kind='continuous' needs a numeric T; got dtype {T_raw.dtype}")
        self.kind_ = kind
        if kind == "continuous":
            if not (isinstance(self.categories, str) and self.categories == "auto"):
                raise ValueError(f"categories={self.categories!r} applies to a discrete treatment; T is continuous")
            self.categories_ = None
            return T_raw.astype(np.float64)
        if len(levels) > MAX_LEVELS:
            raise ValueError(f"T has {len(levels)} levels; a discrete treatment allows at most {MAX_LEVELS} "
                             "(use treatment_kind='continuous')")
        levels = self._ordered_levels(levels)
        counts = np.array([(T_raw == level).sum() for level in levels])
        if (counts < 2).any():
            rare = levels.tolist()[np.argmin(counts)]
            raise ValueError(f"T level {rare!r} has fewer than two rows; every arm needs at least two")
        self.categories_ = levels
        return level_codes(T_raw, levels)

    def _ordered_levels(self, observed: np.ndarray) -> np.ndarray:
        """The treatment levels in ``categories``' order: the observed ones sorted for "auto"."""
        if isinstance(self.categories, str) and self.categories == "auto":
            return observed
        if isinstance(self.categories, str) or not np.iterable(self.categories):
            raise ValueError(f"categories={self.categories!r}; expected 'auto' or a list of treatment levels")
        given = np.asarray(list(self.categories))
        if len(set(given.tolist())) != len(given):
            raise ValueError(f"categories={self.categories!r} repeats a level")
        missing = [level for level in observed.tolist() if not np.isin(level, given)]
        if missing or len(given) != len(observed):
            extra = [level for level in given.tolist() if not np.isin(level, observed)]
            raise ValueError(f"categories={list(self.categories)!r} must list each level of T once; T's levels are "
                             f"{observed.tolist()} (missing {missing}, never observed {extra})")
        return given

    def transform(self, value, n: int, name: str) -> np.ndarray:
        """The model's codes of treatment values given at prediction (a scalar or one per
        row; labels for a discrete T), shape (n,). ``name`` names them in errors."""
        continuous = self.kind_ == "continuous"
        values = np.broadcast_to(np.asarray(value), (n,)) if np.ndim(value) == 0 else value
        values = check_vector(values, name, numeric=continuous)
        if len(values) != n:
            raise ValueError(f"{name} has {len(values)} values; expected {n} (one per row of X) or a scalar")
        if continuous:
            return values
        unknown = ~np.isin(values, self.categories_)
        if unknown.any():
            hint = ("a continuous treatment needs treatment_kind='continuous'" if is_numeric(self.categories_) else
                    level_hint(self.categories_.tolist()))
            raise ValueError(f"{name} contains {values[unknown].tolist()[0]!r}, which is not a treatment level seen "
                             f"in fit {self.categories_.tolist()}; {hint}")
        return level_codes(values, self.categories_)
