"""The API's numbers, turned into words and error classes."""

from __future__ import annotations

from enum import IntEnum, StrEnum

from lianke_bridge import errors

BASE_URL = "https://cloud.liankenet.com"
"""The address the API reference documents for every call."""
SUCCESS = 200

ERRORS_BY_CODE: dict[int, type[errors.CloudApiError]] = {
    401: errors.DeviceBusyError,
    403: errors.InvalidPhoneError,
    404: errors.DeviceAuthError,
    497: errors.NoPrinterError,
    500: errors.DeviceConnectionError,
    503: errors.DeviceConnectionError,
    5001: errors.DeviceNotNetworkedError,
    5002: errors.DeviceOfflineError,
    5011: errors.PortEmptyError,
    10001: errors.InvalidApiKeyError,
    10009: errors.TooFrequentError,
    11200: errors.ResetLimitReachedError,
    11201: errors.NothingToResetError,
    11203: errors.ErrorLimitReachedError,
}


def error_for_code(code: int, api_message: str | None, *, call: str) -> errors.CloudApiError:
    """Build the named error for an API ``code``, keeping the cloud's own ``msg``."""
    error_class = ERRORS_BY_CODE.get(code, errors.UnknownApiError)
    message = None
    if error_class is errors.UnknownApiError:
        message = f"the cloud answered with undocumented code {code}"
    return error_class(code=code, message=message, api_message=api_message, call=call)


class PrinterKind(StrEnum):
    """``printer_species`` / ``species`` as a word."""

    UNKNOWN = "unknown"
    DOT_MATRIX = "dot_matrix"
    RECEIPT = "receipt"
    LABEL = "label"
    LASER = "laser"
    INKJET = "inkjet"
    DYE_SUBLIMATION = "dye_sublimation"
    CARD = "card"


SPECIES: tuple[PrinterKind, ...] = tuple(PrinterKind)
"""Index = the API's species number (0 unknown … 7 card)."""


def printer_kind(species: object) -> PrinterKind:
    """Turn the API's species number (sometimes a string, sometimes missing) into a word."""
    try:
        return SPECIES[int(species)]  # type: ignore[call-overload]
    except (TypeError, ValueError, IndexError):
        return PrinterKind.UNKNOWN


class DriverType(StrEnum):
    """``driver_type``: whether Lianke has a driver for this printer."""

    PENDING = "pending"
    SUPPORTED = "supported"
    UNSUPPORTED = "unsupported"


def driver_type(value: object) -> DriverType:
    """0 pending adaptation, 1 adapted, 2 not supported; anything else is pending."""
    return {1: DriverType.SUPPORTED, 2: DriverType.UNSUPPORTED}.get(
        value if isinstance(value, int) else -1, DriverType.PENDING
    )


class OnlineState(StrEnum):
    """``device_info.info.online``: null never booted, 1 online, 0 offline."""

    NEVER_BOOTED = "never_booted"
    ONLINE = "online"
    OFFLINE = "offline"


def online_state(value: object) -> OnlineState:
    """Map the API's online field to a word."""
    if value is None:
        return OnlineState.NEVER_BOOTED
    return OnlineState.ONLINE if value in (1, "1", True) else OnlineState.OFFLINE


class TaskState(StrEnum):
    """The API's ``task_state`` values, as sent."""

    READY = "READY"
    PARSING = "PARSING"
    SENDING = "SENDING"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    SET_REVOKE = "SET_REVOKE"
    REVOKED = "REVOKED"
    UNKNOWN = "UNKNOWN"

    @classmethod
    def parse(cls, value: object) -> TaskState:
        """Parse a task state, keeping unknown ones visible instead of failing."""
        try:
            return cls(str(value).upper())
        except ValueError:
            return cls.UNKNOWN

    @property
    def is_final(self) -> bool:
        """Whether the job can no longer change."""
        return self in (TaskState.SUCCESS, TaskState.FAILURE, TaskState.REVOKED)


class JobState(StrEnum):
    """The contract's job state words."""

    QUEUED = "queued"
    PARSING = "parsing"
    SENDING = "sending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"

    @property
    def is_final(self) -> bool:
        """Whether the job has ended."""
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


def job_state(task_state: TaskState, result_code: int | None) -> JobState:
    """The contract's word for a task: SUCCESS counts only with result code 200."""
    if task_state is TaskState.SUCCESS:
        return JobState.SUCCEEDED if result_code in (None, SUCCESS) else JobState.FAILED
    return {
        TaskState.READY: JobState.QUEUED,
        TaskState.PARSING: JobState.PARSING,
        TaskState.SENDING: JobState.SENDING,
        TaskState.FAILURE: JobState.FAILED,
        TaskState.SET_REVOKE: JobState.CANCELLING,
        TaskState.REVOKED: JobState.CANCELLED,
    }.get(task_state, JobState.UNKNOWN)


class PrinterType(IntEnum):
    """``printerType`` of printer_list."""

    USB = 1
    NETWORK = 2
    ALL = 3


NETWORK_PRINTER_PORT = 631
"""printer_list reports network printers on port 631; jobs for them go to devicePort 1."""

REFRESH_UNNEEDED_FROM = (2, 1, 112)
"""From this firmware on, async_refresh_device_info is done by Lianke itself."""
