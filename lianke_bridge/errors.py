"""The one exception tree of lianke-bridge.

Raised where a thing goes wrong (the cloud client, the config loader, the QR decoder, the readers
of requests and print options), handled in one place (the bridge service answers with them; only
``cli/process.py`` has a last-resort handler).
Messages never contain secrets: no ApiKey, no deviceKey, no MQTT password.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class LiankeError(Exception):
    """Base for every error this package raises on purpose."""


class ConfigError(LiankeError):
    """The configuration file is invalid; the message lists every problem at once."""


class InputFileError(LiankeError):
    """A file the configuration names cannot be used: not a regular file, too large, not text.

    ``str(err)`` is ``"<path> <reason>"``; ``reason`` alone reads after a path the caller names.
    A missing file is ``FileNotFoundError`` instead: each caller says what to do about that.
    """

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(f"{path} {reason}")
        self.reason = reason


class CredentialsError(LiankeError):
    """A QR link or token could not be turned into a device id and key."""


class BrokerError(LiankeError):
    """No MQTT broker could be found or started for the demo."""


class InitError(LiankeError):
    """``init`` cannot go on: what is missing or wrong, in one line."""


class TurnPassed(LiankeError):  # noqa: N818 - a turn given up, not an error of the call
    """A call's deadline came before the client-wide rate limit let it go: it was not sent.

    A poller waiting for a token behind other polls gives its turn up when the box's next
    ``device_info`` is due, so that one comes on time; it asks again after it. Not a
    ``CloudError``: nothing was asked of the cloud, so it is neither retried nor recorded.
    """


class SupervisorError(LiankeError):
    """The Home Assistant Supervisor refused to describe its MQTT broker to the add-on.

    Waiting does not help (no token, a refused token, an answer that is not the API's).
    """


class SupervisorWaitError(SupervisorError):
    """The Supervisor has no MQTT broker to describe yet, or cannot be reached: worth waiting.

    At boot the Mosquitto broker add-on registers its service a little after it starts.
    """


class InvalidValueError(LiankeError):
    """A value given from outside (a request field, a configured option) is not acceptable.

    The message names the field and what it takes, and echoes the bad value cut short: it is
    shown to the requester as it is (an MQTT answer, a line of ``check-config``).
    """


class PrintOptionsError(InvalidValueError):
    """A print option (in a ``print`` request or in a port's ``print_defaults``) is not valid."""


class CommandError(LiankeError):
    """A request that cannot be carried out, as the response envelope's ``error``.

    ``code`` is a bridge code (``invalid_payload``, ``unknown_port``…: the contract's list) or
    the cloud's number; ``message`` a clear English sentence; ``api_message`` the cloud's own
    ``msg`` when it answered; ``transaction`` the requester's, when it could be read even from a
    bad payload.
    """

    def __init__(
        self,
        code: str | int,
        message: str,
        *,
        api_message: str | None = None,
        transaction: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code: str | int = str(code) if isinstance(code, StrEnum) else code
        self.message = message
        self.api_message = api_message
        self.transaction = transaction

    def to_json(self) -> dict[str, Any]:
        """The envelope's ``error`` object."""
        return {"code": self.code, "message": self.message, "api_message": self.api_message}


class StateUnavailableError(LiankeError):
    """The bridge's state could not be written (a full disk, a read-only file system...).

    Raised by a write that must be on disk before what depends on it goes ahead (the record of a
    command that acts, a print's submission): that command is then not carried out.
    """


class TopicError(LiankeError):
    """A topic that must never be published to (holds a wildcard or is empty)."""


class CloudError(LiankeError):
    """Anything that went wrong talking to the Lianke cloud.

    ``call`` names the API call (``device_info``, ``print_job``…) so a log line says what failed.
    """

    def __init__(self, message: str, *, call: str = "") -> None:
        super().__init__(f"{call}: {message}" if call else message)
        self.call = call
        self.message = message


class CloudConnectionError(CloudError):
    """The cloud could not be reached (DNS, TCP, TLS, connection dropped)."""


class CloudTimeoutError(CloudConnectionError):
    """The cloud did not answer in time."""


class CloudResponseError(CloudError):
    """The cloud answered, but not with the API's JSON (an HTTP error, an HTML page…)."""

    def __init__(self, message: str, *, call: str = "", http_status: int | None = None) -> None:
        super().__init__(message, call=call)
        self.http_status = http_status


class CloudApiError(CloudError):
    """The cloud answered with a ``code`` other than 200.

    ``code`` is the API's own number, ``message`` a clear English sentence and ``api_message`` the
    cloud's own ``msg`` (often Chinese), kept because it is sometimes the only detail there is.
    """

    code: int = 0
    default_message: str = "the cloud refused the request"

    def __init__(
        self,
        *,
        code: int | None = None,
        message: str | None = None,
        api_message: str | None = None,
        call: str = "",
    ) -> None:
        if code is not None:
            self.code = code
        super().__init__(message or self.default_message, call=call)
        self.api_message = api_message


class DeviceBusyError(CloudApiError):
    """401: the box is already rebooting or refreshing."""

    code = 401
    default_message = "the box is busy (already rebooting or refreshing); try again shortly"


class InvalidApiKeyError(CloudApiError):
    """The ApiKey header is missing or not a valid developer key.

    Not in the reference: the simulator answers code 10001 for it, and any cloud answer with
    this code maps here.
    """

    code = 10001
    default_message = "the ApiKey was refused; check lianke.api_key"


class InvalidPhoneError(CloudApiError):
    """403: the phone number of an adaptation request is invalid."""

    code = 403
    default_message = "the phone number is not valid"


class DeviceAuthError(CloudApiError):
    """404: wrong device id or device key."""

    code = 404
    default_message = "wrong device id or device key (scan the box's QR code again)"


class NoPrinterError(CloudApiError):
    """497: no printer detected on the box."""

    code = 497
    default_message = "no printer detected; plug the printer in and refresh"


class DeviceConnectionError(CloudApiError):
    """500/503: the cloud could not talk to the box."""

    code = 503
    default_message = "the cloud could not reach the box (device connection error)"


class DeviceNotNetworkedError(CloudApiError):
    """5001: the box has never been put on a network."""

    code = 5001
    default_message = "the box has not been set up on a network yet"


class DeviceOfflineError(CloudApiError):
    """5002: the box is offline (check its cloud light)."""

    code = 5002
    default_message = "the box is offline; check its power and network (cloud light)"


class PortEmptyError(CloudApiError):
    """5011: nothing is plugged into that USB port."""

    code = 5011
    default_message = "no printer is plugged into that USB port"


class TooFrequentError(CloudApiError):
    """10009: too many requests, or a second concurrent request for one box."""

    code = 10009
    default_message = "too many requests for this box; slowing down"


class ResetLimitReachedError(CloudApiError):
    """11200: the error limit was already reset 10 times today."""

    code = 11200
    default_message = "the error limit was already reset 10 times today; try again tomorrow"


class NothingToResetError(CloudApiError):
    """11201: there are no print failures to reset."""

    code = 11201
    default_message = "there are no print failures to reset"


class ErrorLimitReachedError(CloudApiError):
    """11203: too many consecutive failed jobs; the box is paused until reset."""

    code = 11203
    default_message = (
        "too many consecutive failed jobs: the cloud paused this box; "
        "fix the printer, then reset the error limit"
    )


class UnknownApiError(CloudApiError):
    """A code the reference does not document."""

    default_message = "the cloud answered with an undocumented error code"
