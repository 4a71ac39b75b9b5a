"""The one rounding rule of the package: exact value in, half up (away from zero on a tie) out.

Every figure monev shows (results.json, ranking.csv, rekap.xlsx, the terminal, both reports, group
means, percentages) goes through :func:`round_half_up`, so the same exact value is shown the same
way everywhere. Values are converted to an exact :class:`fractions.Fraction` first: a
:class:`~decimal.Decimal` or a float is taken at its exact value, never through a 28-digit
division, so a tie such as ``80.125`` or ``Fraction(3125, 1000)`` always goes up.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

Exact = Fraction | Decimal | int | float


def exact(value: Exact) -> Fraction:
    """``value`` as an exact fraction (a float at its exact binary value).

    ValueError if it is not finite (NaN, infinity)."""
    if isinstance(value, Fraction):
        return value
    try:
        return Fraction(value)
    except (ValueError, OverflowError):
        raise ValueError(f"not a finite number: {value}") from None


def round_half_up(value: Exact, places: int = 2) -> Decimal:
    """Round ``value`` to ``places`` decimals, a tie away from zero: 80.125 -> 80.13.

    Negative values are symmetric: -0.125 -> -0.13 (as Decimal's ROUND_HALF_UP).

    The result is a Decimal with exactly ``places`` decimals (``Decimal('95.00')``).
    """
    q = exact(value)
    n, d = q.numerator, q.denominator
    # floor(|n| / d x 10^places + 1/2), in integers: floor((2 |n| 10^places + d) / 2d)
    units = (2 * abs(n) * 10**places + d) // (2 * d)
    sign = 1 if n < 0 and units else 0
    return Decimal((sign, tuple(map(int, str(units))), -places))


def leading_digits(value: Exact, places: int) -> tuple[Decimal, bool]:
    """The first ``places`` decimals of ``value`` (cut, not rounded) and whether that is all of it.

    For showing an exact value as ``95,2337…``: the digits shown are the true leading digits.
    """
    q = exact(value)
    scaled = abs(q) * 10**places
    units = scaled.numerator // scaled.denominator
    sign = 1 if q < 0 and units else 0
    return Decimal((sign, tuple(int(d) for d in str(units)), -places)), units == scaled
