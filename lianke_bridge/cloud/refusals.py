"""Refused keys: while the cloud refuses the ApiKey or a box's key, calls with it stay unsent.

Hammering the cloud with a refused key is how a key gets banned, so a refused key is tried
again only every ``refusal_retry`` seconds (or on SIGHUP), by one call sent as a probe.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from lianke_bridge import errors
from lianke_bridge.cloud.models import Credentials
from lianke_bridge.cloud.stats import ApiStats

_LOGGER = logging.getLogger(__name__)


@dataclass
class Refusal:
    """The cloud refused a key: calls with it are answered locally until ``retry_at``.

    Then one call goes through as a probe; its answer either lifts the refusal or renews it.
    Hammering the cloud with a refused key is how a key gets banned.
    """

    answer: errors.CloudApiError
    """What the cloud answered (its code and ``msg``)."""
    since: float
    """``time.time()`` of the first refusal."""
    retry_at: float
    """``time.monotonic()`` from which the next call is sent as a probe."""
    retry_in: float
    """Seconds between probes (for the messages)."""
    probing: bool = False
    tries: int = 1

    def unsent(self, call: str, what: str) -> errors.CloudApiError:
        """The error a call gets without being sent: the same class and code, a clear reason."""
        minutes = max(1, round(self.retry_in / 60))
        return type(self.answer)(
            code=self.answer.code,
            message=(
                f"not sent: the cloud refused {what} (code {self.answer.code}); the bridge stops "
                f"using it and tries again every {minutes} min or on SIGHUP"
            ),
            api_message=self.answer.api_message,
            call=call,
        )


class RefusalGuard:
    """Which keys the cloud refused, and the one probe each may send at a time."""

    def __init__(self, retry: float, stats: ApiStats) -> None:
        self.retry = retry
        """Seconds between probes of a refused key."""
        self.key: Refusal | None = None
        """Set while the cloud refuses the ApiKey: every call is answered here, unsent."""
        self._devices: dict[str, Refusal] = {}
        self._stats = stats
        self.on_key_change: Callable[[], None] | None = None
        """Called when the ApiKey becomes refused, or accepted again (the bridge's health)."""

    def device(self, device_id: str) -> Refusal | None:
        """Set while the cloud refuses this box's device id or key (404)."""
        return self._devices.get(device_id)

    def refused(self, call: str, creds: Credentials | None = None) -> errors.CloudApiError | None:
        """The error a call would get at once for a refused key (None: it would be sent)."""
        now = time.monotonic()
        for refusal, what in self._met_by(None if creds is None else creds.device_id):
            if refusal is not None and (refusal.probing or now < refusal.retry_at):
                return refusal.unsent(call, what)
        return None

    def retry_now(self) -> None:
        """Let the next call with each refused key through at once (SIGHUP)."""
        now = time.monotonic()
        for refusal in (self.key, *self._devices.values()):
            if refusal is not None and not refusal.probing:
                refusal.retry_at = now

    def admit(self, call: str, device: str | None) -> tuple[Refusal, ...]:
        """Refuse a call locally while its key is refused; or mark it as the one probe."""
        now = time.monotonic()
        probes = []
        for refusal, what in self._met_by(device):
            if refusal is None:
                continue
            if refusal.probing or now < refusal.retry_at:
                self._stats.unsent += 1
                raise refusal.unsent(call, what)
            probes.append(refusal)
        for refusal in probes:
            refusal.probing = True
        return tuple(probes)

    def judge(
        self, probes: tuple[Refusal, ...], device: str | None, err: errors.CloudError | None
    ) -> None:
        """After an answer: refuse a key the cloud refused, lift a refusal a probe got past."""
        for refusal in probes:
            refusal.probing = False
        if isinstance(err, errors.CloudConnectionError | errors.CloudResponseError):
            return  # no verdict (no API answer): the next call probes again
        if isinstance(err, errors.InvalidApiKeyError):
            self.key = self._refuse(self.key, err)
            if self.key.tries == 1:
                self._key_changed()
                _LOGGER.error(
                    "the cloud refused the ApiKey (%s); all polling stops, commands that need "
                    "the cloud are refused at once; trying again every %.0f min or on SIGHUP",
                    err.api_message or err.code,
                    self.retry / 60,
                )
            return
        if isinstance(err, errors.DeviceAuthError) and device is not None:
            refusal = self._refuse(self._devices.get(device), err)
            self._devices[device] = refusal
            return
        if self.key is not None and self.key in probes:
            _LOGGER.info("the cloud accepts the ApiKey again; polling resumes")
            self.key = None
            self._key_changed()
        if device is not None and self._devices.get(device) in probes:
            _LOGGER.info("the cloud accepts the device key of %s again", device)
            del self._devices[device]

    def _met_by(self, device: str | None) -> list[tuple[Refusal | None, str]]:
        """The refusals a call with the ApiKey (and this box's key) meets, and what each refused."""
        refusals = [(self.key, "the ApiKey")]
        if device is not None:
            refusals.append((self._devices.get(device), f"the device key of {device}"))
        return refusals

    def _key_changed(self) -> None:
        if self.on_key_change is not None:
            self.on_key_change()

    def _refuse(self, current: Refusal | None, err: errors.CloudApiError) -> Refusal:
        retry_at = time.monotonic() + self.retry
        if current is None:
            return Refusal(err, time.time(), retry_at, self.retry)
        current.retry_at, current.answer = retry_at, err
        current.tries += 1
        return current
