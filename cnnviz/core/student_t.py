"""Student's t distribution in plain Python: its two-sided tail probability and its quantiles.

The Lab reads its table of results (Welch's tests over seeds) while the main window is built; scipy's
`stats` (1.4 s) or even `special` (0.35 s) would be imported for two numbers. The tail comes from the
regularised incomplete beta function, P(|T| > t) = I_x(df/2, 1/2) with x = df / (df + t²), evaluated by its
continued fraction (modified Lentz); the quantile by bisection on it. Both agree with scipy.stats to ~1e-12
(tests/test_seed_statistics.py checks them against it).
"""

from __future__ import annotations

import math

_EPSILON = 1e-15
_TINY = 1e-300
_MAX_TERMS = 500


def two_sided_p(t: float, df: float) -> float:
    """P(|T| > |t|) for Student's t with `df` (> 0, fractional allowed) degrees of freedom."""
    if math.isnan(t) or math.isnan(df) or df <= 0:
        return math.nan
    if math.isinf(t):
        return 0.0
    return min(1.0, _incomplete_beta(df / 2, 0.5, df / (df + t * t)))


def quantile(probability: float, df: float) -> float:
    """The t with P(T <= t) = `probability` (0 < probability < 1) for `df` degrees of freedom."""
    if not 0 < probability < 1 or df <= 0:
        raise ValueError("quantile: probability must lie in (0, 1) and df be positive")
    if probability == 0.5:
        return 0.0
    upper_tail = 2 * min(probability, 1 - probability)   # two-sided p of the |t| wanted
    low, high = 0.0, 1.0
    while two_sided_p(high, df) > upper_tail:
        high *= 2
    for _ in range(200):
        middle = (low + high) / 2
        if two_sided_p(middle, df) > upper_tail:
            low = middle
        else:
            high = middle
        if high - low <= 1e-15 * max(1.0, high):
            break
    t = (low + high) / 2
    return t if probability > 0.5 else -t


def _incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b) for 0 <= x <= 1."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1) / (a + b + 2):   # the continued fraction converges fast here; else use the symmetry
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(b, a, 1.0 - x) / b


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz's method)."""
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    result = d
    for m in range(1, _MAX_TERMS + 1):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            step = c * d
            result *= step
        if abs(step - 1.0) < _EPSILON:
            break
    return result
