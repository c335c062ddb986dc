"""A challenge's rounds, KPI and reward rules, read from challenge.yaml. Pure: they are checked
when the challenge is created, logged publicly with its opening, and never change afterwards, so
every team knows before a round opens how its money will be decided.

    rounds:                       # in order; each round's submissions are ranked when it closes
      - name: Winter              # optional; default "Round N"
        start: 2027-01-01T00:00:00Z   # needed for the first; later ones default to when the one
        end: 2027-02-01T00:00:00Z     # before stops taking submissions
        euros: 5000               # optional: this round's pool, instead of rewards.euros
    kpi:                          # optional; without it every ranked team qualifies
      baseline: {score: 0.86}     # or {team: NAME}: that team's counted submission in each round
      alpha: 0.05                 # a team qualifies if it beats the baseline with p < alpha
      eliminate_after: 2          # missed KPIs in a row before a team is eliminated
    rewards:
      rule: rank_band_split       # winner_take_all, rank_shares, rank_band_split, proportional
      shares: [0.5, 0.3, 0.2]     # for the rank rules: rank 1, 2, 3… (sum 1, not increasing)
      euros: 10000.00             # each round's pool, paid in whole cents
      gpu_hours: 100              # GPU-hours of priority access, paid in whole GPU-minutes
      require_open_source: false  # true: only entries whose method card says open source are paid
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from arena.domain.allocation import RULES
from arena.errors import BadRequest
from arena.timeutil import iso

MAX_ROUNDS = 100
MAX_EUROS = Decimal("1000000000")  # a billion: beyond it is surely a typo
MAX_GPU_HOURS = Decimal("10000000")
RESAMPLES = 10_000
ROUND_KEYS = {"name", "start", "end", "euros", "gpu_hours"}
KPI_KEYS = {"baseline", "alpha", "eliminate_after"}
REWARD_KEYS = {"rule", "shares", "euros", "gpu_hours", "require_open_source"}


def _fail(message: str) -> BadRequest:
    return BadRequest(f"challenge bundle: {message}")


# The right shape of each mapping, shown when a value has the wrong one.
EXAMPLES = {
    "kpi": "{baseline: {score: 0.6}, alpha: 0.05, eliminate_after: 2}",
    "kpi.baseline": "{score: 0.6} or {team: NAME}",
    "rewards": "{rule: rank_shares, shares: [0.5, 0.3, 0.2], euros: 10000, gpu_hours: 100}",
    "round": "{name: Winter, start: 2027-01-01T00:00:00Z, end: 2027-02-01T00:00:00Z, euros: 5000}",
}


def _mapping(value: Any, where: str, known: set[str], example: str | None = None) -> dict[str, Any]:
    if not isinstance(value, dict):
        shape = example or EXAMPLES.get(where)
        raise _fail(f"{where} must be a mapping" + (f" such as {shape}" if shape else ""))
    unknown = sorted(set(map(str, value)) - known)
    if unknown:
        raise _fail(f"{where} has unknown key(s) {', '.join(unknown)}; known keys: {', '.join(sorted(known))}")
    return value


def parse_time(value: Any, where: str) -> datetime:
    """An ISO 8601 time with its time zone, as naive UTC to the second (what the database keeps)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise _fail(f"{where} must be a time such as 2027-01-31T18:00:00Z") from None
    if isinstance(value, date) and not isinstance(value, datetime):
        raise _fail(f"{where} needs a time of day and a time zone, e.g. {value.isoformat()}T00:00:00Z")
    if not isinstance(value, datetime):
        raise _fail(f"{where} must be a time such as 2027-01-31T18:00:00Z")
    if value.tzinfo is None:
        raise _fail(f"{where} needs a time zone, e.g. {value.isoformat()}Z for UTC")
    return value.astimezone(UTC).replace(tzinfo=None, microsecond=0)


def _amount(value: Any, where: str, *, per: int, unit: str, most: Decimal) -> int:
    """A non-negative amount, in whole `unit`s (`per` of them to one: cents, minutes)."""
    example = "5000 or 2500.50" if unit == "cents" else "100 or 12.5"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _fail(f"{where} must be a number such as {example}")
    try:
        exact = Decimal(str(value))
    except InvalidOperation:
        raise _fail(f"{where} must be a number such as {example}") from None
    if not exact.is_finite() or exact < 0 or exact > most:
        raise _fail(f"{where} must be a number from 0 to {most:,}")
    units = exact * per
    if units != units.to_integral_value():
        raise _fail(f"{where} must be a whole number of {unit} ({value} is not)")
    return int(units)


def _pools(doc: dict[str, Any], where: str, default: tuple[int, int] | None) -> tuple[int, int]:
    cents = doc.get("euros")
    minutes = doc.get("gpu_hours")
    return (
        _amount(cents, f"{where}.euros", per=100, unit="cents", most=MAX_EUROS)
        if cents is not None
        else (default[0] if default else 0),
        _amount(minutes, f"{where}.gpu_hours", per=60, unit="GPU-minutes", most=MAX_GPU_HOURS)
        if minutes is not None
        else (default[1] if default else 0),
    )


def _shares(value: Any, rule: str) -> list[str]:
    """Shares as exact decimal strings (so 0.3 is 3/10, not the float nearest it)."""
    if rule not in ("rank_shares", "rank_band_split"):
        if value is not None:
            raise _fail(f"rewards.shares is only for rank_shares and rank_band_split, not {rule}")
        return []
    if not isinstance(value, list) or not 1 <= len(value) <= 100:
        raise _fail(f"rewards.shares must list 1-100 shares for {rule}, e.g. [0.5, 0.3, 0.2] for ranks 1-3")
    exact = []
    for index, share in enumerate(value, start=1):
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
            raise _fail(f"rewards.shares: rank {index}'s share must be a number from 0 to 1")
        exact.append(Fraction(str(share)))
    if sum(exact) != 1:
        raise _fail(f"rewards.shares must add up to exactly 1; they add up to {float(sum(exact)):g}")
    if any(a < b for a, b in zip(exact, exact[1:], strict=False)):
        raise _fail("rewards.shares must not grow with rank: a better rank never gets a smaller share")
    return [str(share) for share in value]


def _rewards(doc: dict[str, Any]) -> dict[str, Any]:
    rewards = _mapping(doc.get("rewards"), "rewards", REWARD_KEYS)
    rule = rewards.get("rule")
    if rule not in RULES:
        raise _fail(f"rewards.rule must be one of {', '.join(RULES)}")
    cents, minutes = _pools(rewards, "rewards", None)
    open_only = rewards.get("require_open_source", False)
    if not isinstance(open_only, bool):
        raise _fail(
            "rewards.require_open_source must be true (only entries with an open-source method card are paid) or false"
        )
    return {
        "rule": rule,
        "shares": _shares(rewards.get("shares"), rule),
        "pool_cents": cents,
        "pool_gpu_minutes": minutes,
        "require_open_source": open_only,
    }


def _baseline(value: Any, metric: str) -> dict[str, Any]:
    baseline = _mapping(value, "kpi.baseline", {"score", "team"})
    if len(baseline) != 1:
        raise _fail(
            "kpi.baseline needs exactly one of score (a fixed score) or team (a team of the "
            "organiser's whose counted submission is the baseline in each round)"
        )
    if "team" in baseline:
        team = baseline["team"]
        if not isinstance(team, str) or not 1 <= len(team.strip()) <= 200:
            raise _fail("kpi.baseline.team must be a team's name, as in {team: Baseline Team}")
        return {"team": team.strip()}
    score = baseline["score"]
    if isinstance(score, bool) or not isinstance(score, int | float) or score != score or abs(score) > 1e12:
        raise _fail("kpi.baseline.score must be a number, as in {score: 0.6}")
    return {"score": float(score)}


def _kpi(doc: dict[str, Any], metric: str) -> dict[str, Any] | None:
    if doc.get("kpi") is None:
        return None
    kpi = _mapping(doc["kpi"], "kpi", KPI_KEYS)
    if "baseline" not in kpi:
        raise _fail("kpi needs a baseline: {score: NUMBER} or {team: NAME}")
    alpha = kpi.get("alpha", 0.05)
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 0.5:
        raise _fail("kpi.alpha must be a number between 0 and 0.5 (the default is 0.05)")
    after = kpi.get("eliminate_after")
    if after is not None and (isinstance(after, bool) or not isinstance(after, int) or not 1 <= after <= 100):
        raise _fail("kpi.eliminate_after must be a whole number from 1 to 100, or left out (no eliminations)")
    return {"baseline": _baseline(kpi["baseline"], metric), "alpha": float(alpha), "eliminate_after": after}


def _rounds(
    doc: dict[str, Any],
    pools: tuple[int, int],
    *,
    first: int = 1,
    previous_end: datetime | None = None,
    need_start: bool = True,
) -> list[dict[str, Any]]:
    """The schedule, numbered from `first`; `previous_end`: when the round before it stops."""
    given = doc.get("rounds")
    if not isinstance(given, list) or not 1 <= len(given) <= MAX_ROUNDS:
        raise _fail(
            f"rounds must list 1-{MAX_ROUNDS} rounds, each with an end (and the first a start), such as "
            f"[{EXAMPLES['round']}]"
        )
    rounds = []
    for index, item in enumerate(given, start=1):
        where, number = f"rounds[{index}]", first + index - 1
        item = _mapping(item, where, ROUND_KEYS, EXAMPLES["round"])
        name = item.get("name", f"Round {number}")
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
            raise _fail(f"{where}.name must be text of 1-100 characters, such as Winter")
        start = parse_time(item["start"], f"{where}.start") if item.get("start") is not None else None
        if start is None and index == 1 and need_start:
            raise _fail("rounds[1] needs a start")
        if "end" not in item:
            raise _fail(f"{where} needs an end")
        end = parse_time(item["end"], f"{where}.end")
        if start is not None and end <= start:
            raise _fail(f"{where} ends before it starts")
        if previous_end is not None and (start or end) < previous_end:
            raise _fail(f"{where} overlaps the round before it: rounds come in order, one after another")
        previous_end = end
        cents, minutes = _pools(item, where, pools)
        rounds.append(
            {
                "number": number,
                "name": name.strip(),
                "start": iso(start),
                "end": iso(end),
                "pool_cents": cents,
                "pool_gpu_minutes": minutes,
            }
        )
    return rounds


def parse_rules(doc: dict[str, Any], metric: str) -> dict[str, Any] | None:
    """The rules of a challenge.yaml mapping, as stored and logged; None when it has no rounds."""
    if doc.get("rounds") is None:
        for key in ("kpi", "rewards"):
            if doc.get(key) is not None:
                raise _fail(f"'{key}' needs 'rounds': rewards and KPIs are decided when a round closes")
        return None
    rewards: dict[str, Any] = (
        _rewards(doc)
        if doc.get("rewards") is not None
        else {
            "rule": "rank_shares",
            "shares": ["1"],
            "pool_cents": 0,
            "pool_gpu_minutes": 0,
            "require_open_source": False,
        }
    )
    kpi = _kpi(doc, metric)
    if rewards["rule"] == "proportional" and kpi is None:
        raise _fail("the proportional rule pays by improvement over a baseline: declare kpi.baseline")
    rounds = _rounds(doc, (rewards.pop("pool_cents"), rewards.pop("pool_gpu_minutes")))
    return {"rounds": rounds, "kpi": kpi, "rewards": rewards, "resamples": RESAMPLES}


ADDED_KEYS = {"rounds", "kpi", "rewards"}


def parse_added_rounds(
    doc: Any, metric: str, *, in_force: dict[str, Any], first: int, pools: tuple[int, int], previous_end: datetime
) -> dict[str, Any]:
    """Rounds added to a running challenge (`arena round add`), as stored with them and logged:
    their schedule, numbered from `first`, and their rules. A `kpi` or `rewards` the file leaves
    out is the one `in_force` (the last round's); a pool left out, the last round's (`pools`).
    The first may leave out its start: it opens when the round before it stops."""
    doc = _mapping(
        doc,
        "the file",
        ADDED_KEYS,
        "{rounds: [{name: Spring, end: 2027-05-01T00:00:00Z, euros: 5000}], kpi: …, rewards: …}",
    )
    if "rewards" in doc:
        rewards = _rewards(doc)
        rewards.pop("pool_cents"), rewards.pop("pool_gpu_minutes")
        pools = _pools(doc["rewards"], "rewards", pools)
    else:
        rewards = in_force["rewards"]
    kpi = _kpi(doc, metric) if "kpi" in doc else in_force["kpi"]
    if rewards["rule"] == "proportional" and kpi is None:
        raise _fail("the proportional rule pays by improvement over a baseline: declare kpi.baseline")
    rounds = _rounds(doc, pools, first=first, previous_end=previous_end, need_start=False)
    return {"rounds": rounds, "kpi": kpi, "rewards": rewards, "resamples": RESAMPLES}
