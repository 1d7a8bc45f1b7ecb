"""When each job is next asked about: rarely while the cloud's pushes tell job ends, else often.

Without pushes a job in flight is asked every ``jobs.poll_interval`` (the reference's 10 s).
With ``lianke.callback_url`` set, the push tells the end and a job is asked only every
``jobs.push_poll_interval`` (60 s), the fallback. A poll that finds a job of this run ended
(SUCCESS or FAILURE, the ends the cloud pushes) before its push came means pushes are not
arriving: every job is asked every ``poll_interval`` again (one WARNING, later ones INFO) until
the next push comes. A pushed end is confirmed with one question, never two at once for a job
and not again within ``poll_interval``.

Pure: times are the event loop's, given by the caller; no I/O.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from lianke_bridge.bridge.records.push import PushLedger
from lianke_bridge.config import JobsConfig

_LOGGER = logging.getLogger(__name__)


class JobPolls:
    """The jobs' poll schedule and their confirmations (the tracker asks, this one says when)."""

    def __init__(self, config: JobsConfig, pushes: PushLedger) -> None:
        self._config = config
        self.pushes = pushes
        """Where jobs ask the cloud to push their end, and whether those pushes arrive."""
        self._due: dict[str, float] = {}
        """Loop time each active job is next asked about (missing: due now)."""
        self._confirming: set[str] = set()
        """Jobs whose pushed end is being asked about."""
        self._confirmed_at: dict[str, float] = {}
        """Loop time each job's last confirmation was asked."""

    @property
    def interval(self) -> float:
        """Seconds between two polls of a job: rarely while the cloud's pushes tell job ends."""
        if self.pushes.expected:
            return self._config.push_poll_interval
        return self._config.poll_interval

    def later(self, task_id: str, now: float, *, seconds: float | None = None) -> None:
        """The job is next asked one interval (or ``seconds``) from ``now``."""
        self._due[task_id] = now + (self.interval if seconds is None else seconds)

    def now(self, task_id: str) -> None:
        """The job is asked at the next pass (a cancel's outcome is worth one call)."""
        self._due[task_id] = 0.0

    def due(self, task_id: str, now: float) -> bool:
        """Whether a poll may ask about the job now (not while its push is being confirmed)."""
        return task_id not in self._confirming and self._due.get(task_id, 0.0) <= now

    def next_due(self, active: Iterable[str]) -> float | None:
        """The earliest loop time one of these jobs is due (None: no job)."""
        return min((self._due.get(task_id, 0.0) for task_id in active), default=None)

    def forget(self, task_id: str) -> None:
        """The job expired."""
        self._due.pop(task_id, None)
        self._confirmed_at.pop(task_id, None)

    # ---- pushes ---------------------------------------------------------------------------

    def missed(self, task_id: str, now: float) -> None:
        """A poll saw this job of this run end before its push: jobs are asked often again."""
        if not self.pushes.expected:
            return
        self.pushes.arriving = False
        level = logging.INFO if self.pushes.missed else logging.WARNING
        self.pushes.missed += 1
        _LOGGER.log(
            level,
            "job %s ended without the cloud's push reaching the bridge: jobs are polled every "
            "%g s until a push arrives (check lianke.callback_url and what forwards it)",
            task_id,
            self._config.poll_interval,
        )
        soon = now + self.interval
        for other, due in self._due.items():
            self._due[other] = min(due, soon)

    def arrived(self) -> None:
        """A push came for one of the bridge's jobs: pushes tell job ends (again)."""
        if not self.pushes.arriving:
            self.pushes.arriving = True
            _LOGGER.info(
                "the cloud's pushes arrive again: jobs are polled every %g s", self.interval
            )

    def may_confirm(self, task_id: str, now: float) -> str | None:
        """None if a pushed end may be asked about now, else why not (``duplicate``, ``too_soon``).

        Saying None starts the confirmation: ``confirmed`` ends it.
        """
        if task_id in self._confirming:
            return "duplicate"
        last = self._confirmed_at.get(task_id)
        if last is not None and now - last < self._config.poll_interval:
            return "too_soon"
        self._confirming.add(task_id)
        self._confirmed_at[task_id] = now
        return None

    def confirmed(self, task_id: str, now: float) -> None:
        """The confirmation's answer came (or failed): the job is asked again soon if it goes on."""
        self._confirming.discard(task_id)
        self.later(task_id, now, seconds=self._config.poll_interval)
