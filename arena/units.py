"""How amounts read to people, the same on every page and in every command: GPU time in
GPU-hours (with minutes where an amount is not whole hours), an alliance's shares in percent."""

from __future__ import annotations

from fractions import Fraction


def gpu_hours(minutes: int | None) -> str:
    """12000 -> '200 GPU-hours'; 90 -> '1 GPU-hour 30 min'; 45 -> '0 GPU-hours 45 min'."""
    if minutes is None:
        return ""
    hours, rest = divmod(int(minutes), 60)
    text = f"{hours:,} GPU-hour{'' if hours == 1 else 's'}"
    return f"{text} {rest} min" if rest else text


def percent(share: float | str | Fraction) -> str:
    """A share as people read it, to two decimals at most: 2/3 -> '66.67%', 0.5 -> '50%'."""
    value = Fraction(str(share)) if isinstance(share, str) else Fraction(share)
    return f"{float(value) * 100:.2f}".rstrip("0").rstrip(".") + "%"
