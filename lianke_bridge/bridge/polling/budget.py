"""The call budget: what a fleet's poll schedule costs, and how it is stretched to fit.

The cloud's documented limits are few: one printer_status at a time per box, 10009 for "too
frequent", and no load tests. The bridge's own ceiling (``lianke.rate_limit``, calls/s) is the
budget. Polls may use ``POLL_SHARE`` of it; the rest stays free for commands and job tracking.
When the schedule needs more, intervals are stretched fairly, by priority: ``device_info`` first
(is the box there at all), then ``printer_status`` of printers in use (a job running, a problem
showing), then the rest (printer_list, the queue, idle printers). Each tier keeps at least
``MIN_SHARE`` of the polls' budget, so nothing starves.

Smarter polling, whatever the budget: a box's queue (tasks) is asked at its interval only while
the box has a job of the bridge's in flight, else ``IDLE_TASKS_FACTOR`` times less often.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from lianke_bridge.config import DeviceConfig

POLL_SHARE = 0.8
"""The part of the budget polls may use; commands and job tracking have the rest."""
MIN_SHARE = 0.15
"""The least part of the polls' budget each later tier keeps when an earlier one is stretched."""
IDLE_TASKS_FACTOR = 5.0
"""How much less often the queue is asked while the box has no job of the bridge in flight."""
TIERS = ("device_info", "status_in_use", "rest")


@dataclass(frozen=True)
class BoxDemand:
    """What one box's schedule asks of the cloud, in calls per second, by tier."""

    device_info: float = 0.0
    status_in_use: float = 0.0
    rest: float = 0.0

    def of(self, tier: str) -> float:
        """The demand of one tier."""
        return float(getattr(self, tier))


def box_demand(
    config: DeviceConfig,
    *,
    online: bool = True,
    status_printers: int = 1,
    in_use: bool = False,
    busy: bool = True,
) -> BoxDemand:
    """Calls per second one box's schedule needs.

    ``status_printers``: printers asked printer_status (USB printers with live status);
    ``in_use``: one of them has a job or a problem; ``busy``: the box has a job in flight (its
    queue is asked at the full rate).
    """
    poll = config.poll
    device_info = 1 / poll.device_info
    if not online:
        return BoxDemand(device_info=device_info)
    status = status_printers / poll.printer_status
    tasks = 1 / poll.tasks if busy else 1 / (poll.tasks * IDLE_TASKS_FACTOR)
    rest = 1 / poll.printer_list + tasks + (0.0 if in_use else status)
    return BoxDemand(device_info=device_info, status_in_use=status if in_use else 0.0, rest=rest)


@dataclass(frozen=True)
class Plan:
    """How much slower each tier polls than configured (1.0: as configured)."""

    budget: float
    """Calls per second the bridge allows itself (``lianke.rate_limit``)."""
    needed: float
    """Calls per second the schedule asks for."""
    factors: dict[str, float] = field(default_factory=dict)

    @property
    def stretched(self) -> bool:
        """Whether any tier polls slower than configured."""
        return any(f > 1.0 for f in self.factors.values())

    def factor(self, tier: str) -> float:
        """The stretch of one tier."""
        return self.factors.get(tier, 1.0)

    def to_json(self) -> dict[str, object]:
        """For ``bridge/health``."""
        return {
            "budget_per_s": round(self.budget, 3),
            "needed_per_s": round(self.needed, 3),
            "stretched": self.stretched,
            "stretch": {tier: round(self.factor(tier), 3) for tier in TIERS},
        }

    def describe(self) -> str:
        """One log line."""
        parts = ", ".join(f"{tier} x{self.factor(tier):.1f}" for tier in TIERS)
        return (
            f"the poll schedule needs {self.needed:.1f} calls/s but the budget gives polls "
            f"{self.budget * POLL_SHARE:.1f} of {self.budget:g} (lianke.rate_limit): "
            f"polling slower ({parts})"
        )


def plan(demands: Iterable[BoxDemand], budget: float) -> Plan:
    """Stretch the tiers, in priority order, until the schedule fits the polls' budget."""
    totals = dict.fromkeys(TIERS, 0.0)
    for box in demands:
        for tier in TIERS:
            totals[tier] += box.of(tier)
    needed = sum(totals.values())
    if budget <= 0:  # no ceiling: nothing to fit
        return Plan(budget, needed, dict.fromkeys(TIERS, 1.0))
    capacity = budget * POLL_SHARE
    remaining = capacity
    factors: dict[str, float] = {}
    floor = 1.0  # a later tier is never stretched less than an earlier one
    for index, tier in enumerate(TIERS):
        demand = totals[tier]
        later = sum(1 for t in TIERS[index + 1 :] if totals[t] > 0)
        available = max(remaining - later * MIN_SHARE * capacity, MIN_SHARE * capacity)
        factor = max(floor, demand / available)
        factors[tier] = floor = factor
        remaining = max(0.0, remaining - demand / factor)
    return Plan(budget, needed, factors)


def calls_per_hour(devices: Iterable[DeviceConfig], budget: float) -> list[str]:
    """What ``check-config`` prints: the calls per hour a configuration implies."""
    devices = list(devices)
    lines = []
    busy = [box_demand(d) for d in devices]
    idle = [box_demand(d, busy=False) for d in devices]
    for label, demands in (("with a job in flight on every box", busy), ("all idle", idle)):
        total = sum(sum(d.of(t) for t in TIERS) for d in demands)
        lines.append(
            f"poll schedule, {label}: {total * 3600:,.0f} calls/hour "
            f"({total:.2f}/s; one live-status printer per box)"
        )
    cap = budget * POLL_SHARE
    lines.append(
        f"call budget: {budget:g} calls/s ({budget * 3600:,.0f}/hour), polls get {cap:g}/s"
    )
    worst = plan(busy, budget)
    if worst.stretched:
        lines.append("does not fit: " + worst.describe())
    return lines
