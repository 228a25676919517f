"""Which positional argument of ``fit`` is which: the model card's ``fit(X, T, Y)`` and
EconML's ``fit(Y, T, X=X, W=W)`` both work.

The rule, in order:

1. With ``X`` passed by keyword, positional arguments are EconML's ``(Y, T)``.
2. Three positional arguments are told apart by shape: the two-dimensional one (or the
   DataFrame) is X, so ``fit(X, T, Y)`` and ``fit(Y, T, X)`` both read right. When the
   first is one-dimensional and the third is not, the order is EconML's; otherwise the
   card's (a one-dimensional first argument is one covariate).
3. Fewer positional arguments without keyword X follow the card's order ``(X, T, Y)``.
"""

from __future__ import annotations

import numpy as np


def _is_table(value) -> bool:
    """A DataFrame or an array-like of at least two dimensions."""
    if hasattr(value, "columns"):
        return True
    return value is not None and np.ndim(value) >= 2


def resolve_fit_arguments(args: tuple, X, T, Y) -> tuple:
    """``(X, T, Y)`` from ``fit``'s positional ``args`` and keywords (see the module).

    Raises
    ------
    TypeError
        For more than three positional arguments, or an argument given twice.
    """
    if len(args) > 3:
        raise TypeError(f"fit() takes at most 3 positional arguments (X, T, Y or EconML's Y, T, X); got {len(args)}")
    if X is not None:
        names = ("Y", "T")
    elif len(args) == 3 and not _is_table(args[0]) and _is_table(args[2]):
        names = ("Y", "T", "X")
    else:
        names = ("X", "T", "Y")
    if len(args) > len(names):
        raise TypeError("with X passed by keyword, fit() takes EconML's two positional arguments (Y, T); "
                        f"got {len(args)}")
    given = {"X": X, "T": T, "Y": Y}
    for name, value in zip(names, args, strict=False):
        if given[name] is not None:
            raise TypeError(f"fit() got two values for {name}: one positional, one by keyword")
        given[name] = value
    for name in ("X", "T", "Y"):
        if given[name] is None:
            raise TypeError(f"fit() needs {name}: call fit(X, T, Y) or EconML's fit(Y, T, X=X, W=W)")
    return given["X"], given["T"], given["Y"]
