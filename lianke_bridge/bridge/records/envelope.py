"""The response envelope and the bridge's error codes: what every answer looks like.

``{"status": "ok", "data": {...}, "transaction": ...}`` or ``{"status": "error", "error":
{code, message, api_message}, "transaction": ...}`` (the contract's "Response envelope").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from lianke_bridge import errors
from lianke_bridge.errors import CommandError
from lianke_bridge.print_options.readers import show


class ErrorCode(StrEnum):
    """The bridge's own error codes (the cloud's are its numbers)."""

    INVALID_PAYLOAD = "invalid_payload"
    UNKNOWN_COMMAND = "unknown_command"
    UNKNOWN_PORT = "unknown_port"
    RATE_LIMITED = "rate_limited"
    TIMEOUT = "timeout"
    API_UNREACHABLE = "api_unreachable"
    API_ERROR = "api_error"
    """The cloud answered, but not with the API's JSON (an HTTP error page…)."""
    DUPLICATE = "duplicate"
    INTERNAL_ERROR = "internal_error"
    STATE_UNAVAILABLE = "state_unavailable"
    """The bridge cannot write its state: the command was not carried out; send it again later."""


def ok_envelope(data: Mapping[str, Any] | None, transaction: str | None) -> dict[str, Any]:
    """``{"status": "ok", "data": {...}, "transaction": ...}``."""
    return {"status": "ok", "data": dict(data or {}), "transaction": transaction}


def error_envelope(err: BaseException, transaction: str | None = None) -> dict[str, Any]:
    """``{"status": "error", "error": {code, message, api_message}, "transaction": ...}``.

    Takes a :class:`CommandError`, any cloud error (see :func:`to_command_error`) or, as a last
    resort, any exception. Without ``transaction``, the one a :class:`CommandError` carries.
    """
    error = to_command_error(err)
    if transaction is None:
        transaction = error.transaction
    return {"status": "error", "error": error.to_json(), "transaction": transaction}


def to_command_error(err: BaseException) -> CommandError:  # noqa: PLR0911 - one return per error kind
    """Map an exception to the envelope's code and message.

    Cloud answers keep their numeric code (10009 too many requests stays 10009: ``rate_limited``
    is only for the bridge's own limiter); timeouts are ``timeout``; an unreachable cloud is
    ``api_unreachable``; an answer that is not the API's JSON is ``api_error``. Anything else is
    ``internal_error`` without details (they are in the bridge's log, not on MQTT).
    """
    if isinstance(err, CommandError):
        return err
    if isinstance(err, errors.CloudApiError):
        return CommandError(err.code, err.message, api_message=err.api_message)
    if isinstance(err, errors.CloudTimeoutError | TimeoutError):
        text = err.message if isinstance(err, errors.CloudError) else "no answer in time"
        return CommandError(ErrorCode.TIMEOUT, f"the cloud did not answer in time ({text})")
    if isinstance(err, errors.CloudConnectionError):
        return CommandError(
            ErrorCode.API_UNREACHABLE, f"the cloud could not be reached ({err.message})"
        )
    if isinstance(err, errors.CloudResponseError):
        status = f" (HTTP {err.http_status})" if err.http_status else ""
        return CommandError(ErrorCode.API_ERROR, f"unexpected answer from the cloud{status}: {err}")
    if isinstance(err, errors.CredentialsError):
        return CommandError(ErrorCode.INVALID_PAYLOAD, str(err))
    if isinstance(err, errors.StateUnavailableError):
        return CommandError(
            ErrorCode.STATE_UNAVAILABLE,
            f"not carried out: the bridge cannot record it ({err}); nothing was done, send it "
            "again once bridge/health shows no state_problem",
        )
    if isinstance(err, errors.LiankeError):
        return CommandError(ErrorCode.INTERNAL_ERROR, str(err))
    return CommandError(
        ErrorCode.INTERNAL_ERROR,
        f"the bridge failed to handle the request ({type(err).__name__}); see its log",
    )


def unknown_port_error(
    port: int, known: Sequence[int], *, device: str, transaction: str | None = None
) -> CommandError:
    """``unknown_port``, naming the ports the box has."""
    ports = ", ".join(str(p) for p in sorted(known)) or "none (no printer found yet)"
    return CommandError(
        ErrorCode.UNKNOWN_PORT,
        f"{device} has no printer on port {port}; its printers are on: {ports}",
        transaction=transaction,
    )


def rate_limited_error(
    retry_after: float | None = None,
    *,
    reason: str = "the bridge is pacing calls to the cloud",
    transaction: str | None = None,
) -> CommandError:
    """``rate_limited``: the bridge's own limiter refused the request (not the cloud's 10009)."""
    hint = f"; try again in {math.ceil(retry_after)} s" if retry_after else "; try again shortly"
    return CommandError(
        ErrorCode.RATE_LIMITED,
        f"too many requests: {reason}{hint}",
        transaction=transaction,
    )


def duplicate_error(transaction: str) -> CommandError:
    """``duplicate``: the transaction was handled in the last minutes (a QoS 1 redelivery)."""
    return CommandError(
        ErrorCode.DUPLICATE,
        f"transaction {show(transaction)} was already handled; it is not repeated",
        transaction=transaction,
    )
