"""Receiving the cloud's pushes: what one may do, whichever way it came in.

A push is not signed, so it is trusted with nothing but a hint:

- a job's result counts only for a job the bridge submitted on that box (its ``task_id`` known
  and its ``device_id`` the job's box); its end is confirmed with one ``job_status`` before it
  is published (``JobTracker.confirm``), so a forged or replayed push costs at most one
  question per job per ``jobs.poll_interval`` and publishes nothing the cloud did not say;
  a push for a job already ended or being confirmed (the cloud's retries) changes nothing;
- a message about a box (offline, a printer plugged or unplugged) makes that box's
  ``device_info`` and ``printer_list`` polled at once, at most once per ``REFRESH_SPACING``
  (pushes in between bring one more refresh at the end of that spacing, not one each).

Everything else is counted by reason and logged at DEBUG only (a stranger's pushes must not
fill the log); a push of unknown shape is shown there so users can report the console's
message formats, which the reference does not document. Counts are the ``PushLedger``'s.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Mapping
from typing import Any

from lianke_bridge.bridge.jobs.tracker import JobTracker
from lianke_bridge.bridge.memory.push_token import push_token
from lianke_bridge.bridge.mqtt.session import payload_bytes
from lianke_bridge.bridge.records.box import Box
from lianke_bridge.bridge.records.push import (
    JobPush,
    MessagePush,
    PushLedger,
    Reason,
    Way,
    read_push,
    same_device,
)
from lianke_bridge.clock import SYSTEM_CLOCK, Clock
from lianke_bridge.clock import now as clock_now
from lianke_bridge.cloud.client import LiankeClient
from lianke_bridge.config import Config

_LOGGER = logging.getLogger(__name__)

REFRESH_SPACING = 30.0
"""Seconds between two refreshes of a box that message pushes start (the poll floors: 15 s for
``device_info``, 60 s for ``printer_list``; a flapping box must not become a flood of calls)."""
REFRESHED = ("device_info", "printer_list")
"""What a message about a box makes asked at once: is it there, and which printers it has."""


class PushReceiver:
    """Takes a push's bytes from the HTTP endpoint or ``<base>/bridge/callback``; acts or not."""

    def __init__(
        self,
        *,
        jobs: JobTracker,
        boxes: Mapping[str, Box],
        elsewhere: Collection[str],
        ledger: PushLedger,
        refresh_spacing: float = REFRESH_SPACING,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._jobs = jobs
        self._boxes = boxes
        self._elsewhere = {device_id.upper() for device_id in elsewhere}
        """Device ids of the boxes other instances of a scaled-out bridge own."""
        self.ledger = ledger
        self._spacing = refresh_spacing
        self._clock = clock
        self._refreshed: dict[str, float] = {}
        """Box name -> loop time of its last (or next, if ahead) refresh a message started."""

    def refuse(self, way: Way, reason: Reason) -> str:
        """Count a push turned away before it was read (a wrong token, too large)."""
        self.ledger.received[way] += 1
        self.ledger.last_at = clock_now(self._clock)
        return self._rejected(reason, "")

    async def receive(self, body: bytes, way: Way) -> str:
        """Read and act on one push; returns what became of it (a word for the log and tests).

        ``confirmed``, ``duplicate``, ``refresh``, ``refresh_later``, or a rejection's
        :data:`~lianke_bridge.bridge.records.push.Reason`.
        """
        self.ledger.received[way] += 1
        self.ledger.last_at = clock_now(self._clock)
        push = read_push(body)
        if isinstance(push, JobPush):
            outcome = await self._job(push)
        elif isinstance(push, MessagePush):
            outcome = self._message(push)
        else:
            _LOGGER.debug("push over %s not understood (%s): %s", way, push.reason, push.shown)
            return self._rejected(push.reason, "")
        _LOGGER.debug("push over %s: %s", way, outcome)
        return outcome

    async def _job(self, push: JobPush) -> str:
        box = self._box_of(push.device_id)
        if box is None:
            return self._stranger(push.device_id, f"job {push.task_id}")
        job = self._jobs.jobs.get(push.task_id)
        if job is None or job.device != box.name:
            return self._rejected("unknown_task", f"job {push.task_id} on {box.name}")
        if not push.claims_end:
            return self._rejected("not_final", f"job {push.task_id} {push.task_state}")
        outcome = await self._jobs.confirm(push.task_id)
        if outcome == "confirmed":
            self.ledger.confirmed += 1
        elif outcome == "duplicate":
            self.ledger.duplicates += 1
        else:
            return self._rejected("too_soon" if outcome == "too_soon" else "unconfirmed", "")
        self._jobs.polls.arrived()  # a true end came by push: pushes tell job ends
        return f"{outcome}: job {push.task_id} on {box.name}"

    def _message(self, push: MessagePush) -> str:
        box = self._box_of(push.device_id)
        if box is None:
            return self._stranger(push.device_id, "message")
        self.ledger.messages += 1
        now = asyncio.get_running_loop().time()
        last = self._refreshed.get(box.name)
        if last is None or now - last >= self._spacing:
            self._refreshed[box.name] = now
            self.ledger.refreshes += 1
            box.poll_soon(*REFRESHED)
            return f"refresh: {box.name}"
        if last > now:  # a refresh is already waiting for the end of the spacing
            return f"refresh_waiting: {box.name}"
        self._refreshed[box.name] = last + self._spacing
        self.ledger.refreshes += 1
        box.poll_soon(*REFRESHED, after=last + self._spacing - now)
        return f"refresh_later: {box.name}"

    def _box_of(self, device_id: str) -> Box | None:
        for box in self._boxes.values():
            if same_device(device_id, box.config.device_id):
                return box
        return None

    def _stranger(self, device_id: str, what: str) -> str:
        if device_id.upper() in self._elsewhere:
            return self._rejected("other_instance", what)
        return self._rejected("unknown_device", what)

    def _rejected(self, reason: Reason, what: str) -> str:
        self.ledger.rejected[reason] += 1
        if what:
            _LOGGER.debug("push ignored (%s): %s", reason, what)
        return reason


class Pushes:
    """The cloud's pushes for one service: counts, the HTTP route, the receiver once running."""

    def __init__(self, config: Config, topic: str, clock: Clock = SYSTEM_CLOCK) -> None:
        self.ledger = PushLedger(mode=config.push_mode)
        """Where pushes go, whether they arrive, what became of them (health, metrics)."""
        token = push_token(config.state_dir) if config.push_path is not None else None
        self.route = None if token is None else (str(config.push_path), token)
        """The HTTP path (before the token) and the token the pushes come to, if any."""
        self.url = config.push_url(token or "")
        """``callbackUrl``, sent with every print (secret: never logged)."""
        self.receiver: PushReceiver | None = None
        """Acts on pushes, once the service runs."""
        self._clock = clock
        self._topic = topic
        """``<base>/bridge/callback``."""

    def start(
        self,
        client: LiankeClient,
        jobs: JobTracker,
        boxes: Mapping[str, Box],
        elsewhere: Collection[str],
    ) -> None:
        """The service runs: every print asks for the push, and pushes are acted on from now."""
        client.callback_url = self.url
        self.receiver = PushReceiver(
            jobs=jobs, boxes=boxes, elsewhere=elsewhere, ledger=self.ledger, clock=self._clock
        )

    def control(self, topic: str, payload: Any, group: asyncio.TaskGroup) -> bool:
        """A message of the session: a push on ``<base>/bridge/callback`` is taken (True)."""
        if topic != self._topic:
            return False
        group.create_task(self.relayed(payload), name="push")
        return True

    async def relayed(self, payload: Any) -> None:
        """A push on ``<base>/bridge/callback`` (Home Assistant's webhook relays it there)."""
        if self.receiver is None:
            return
        body = payload_bytes(payload)
        if getattr(payload, "size", len(body)) > len(body):  # freed on arrival (intake/arrival.py)
            self.receiver.refuse("mqtt", "too_large")
            return
        await self.receiver.receive(body, "mqtt")
