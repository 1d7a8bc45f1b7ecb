"""Checks across fields: credentials or a QR code, TLS files, MQTT login, unique boxes.

They run on the raw mapping, so they run even when other values are bad, and they finish
what one field cannot (a device's name from its id, the MQTT client id from the base topic).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import voluptuous as vol

from lianke_bridge.cloud.models import Credentials
from lianke_bridge.cloud.qr import parse_qr
from lianke_bridge.config.model import (
    DEFAULT_CLIENT_ID,
    FILE_BYTES_RANGE,
    PACKET_SIZE_RANGE,
    TLS_PORT,
    JobsConfig,
    MqttConfig,
    field_default,
    largest_payload,
)
from lianke_bridge.config.validators import byte_size, device_name, slugify
from lianke_bridge.errors import CredentialsError
from lianke_bridge.print_options.readers import size_text

file_size = byte_size(*FILE_BYTES_RANGE)
"""``jobs.max_file_bytes``."""
packet_size = byte_size(*PACKET_SIZE_RANGE)
"""``mqtt.max_packet_size``."""


# ---- cross-field checks (on the raw mapping, so they run even when other values are bad) -------
def _present(raw: Mapping[str, Any], key: str) -> bool:
    return raw.get(key) is not None


def check_credentials(raw: Mapping[str, Any]) -> None:
    """A box needs device_id + device_key, or its QR link: one form, not both."""
    # Presence, not value: an empty `device_key:` is the schema's "must not be empty".
    has_qr, has_id, has_key = (k in raw for k in ("qr", "device_id", "device_key"))
    if has_qr and (has_id or has_key):
        raise vol.Invalid("give either qr or device_id + device_key, not both", path=["qr"])
    if has_qr:
        return
    if not has_id and not has_key:
        raise vol.Invalid(
            "needs credentials: device_id + device_key, or qr (the link from the box's QR code)"
        )
    if not has_id:
        raise vol.Invalid("is required with device_key (or give qr instead)", path=["device_id"])
    if not has_key:
        raise vol.Invalid("is required with device_id (or give qr instead)", path=["device_key"])


def finish_device(data: dict[str, Any]) -> dict[str, Any]:
    """Credentials from the QR link, and the default name from the device id."""
    credentials: Credentials | None = data.pop("qr", None)
    if credentials is not None:
        data["device_id"] = credentials.device_id
        data["device_key"] = credentials.device_key
    if "name" not in data:
        try:
            data["name"] = device_name(slugify(data["device_id"]))
        except vol.Invalid as err:
            raise vol.Invalid(f"needs a name: the default one is reserved ({err})") from err
    return data


def check_tls(raw: Mapping[str, Any]) -> None:
    """A client certificate needs its key, and the key its certificate."""
    if _present(raw, "certfile") and not _present(raw, "keyfile"):
        raise vol.Invalid("is required with certfile", path=["keyfile"])
    if _present(raw, "keyfile") and not _present(raw, "certfile"):
        raise vol.Invalid("is required with keyfile", path=["certfile"])


def check_mqtt_login(raw: Mapping[str, Any]) -> None:
    """MQTT 3.1.1 sends no password without a user name; keep one rule for both protocols."""
    if _present(raw, "password") and not _present(raw, "username"):
        raise vol.Invalid("needs username too (MQTT sends no password without one)", ["password"])


def default_client_id(base_topic: str) -> str:
    """A client id that is the same at every start (the broker keys the session on it).

    ``lianke-bridge`` for the default base topic; another base topic gets its own id, so two
    bridges on one broker never take each other's session.
    """
    if base_topic == field_default(MqttConfig, "base_topic"):
        return DEFAULT_CLIENT_ID
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", base_topic).strip("-")[:64]
    return f"{DEFAULT_CLIENT_ID}-{slug}" if slug else DEFAULT_CLIENT_ID


def finish_mqtt(data: dict[str, Any]) -> dict[str, Any]:
    """The port defaults to 8883 with TLS, 1883 without; the client id to one of the base topic."""
    data.setdefault("tls", None)
    if "client_id" not in data:
        data["client_id"] = default_client_id(
            data.get("base_topic", field_default(MqttConfig, "base_topic"))
        )
    if "port" not in data:
        data["port"] = TLS_PORT if data["tls"] is not None else field_default(MqttConfig, "port")
    return data


def _raw_device_id(raw: Mapping[str, Any]) -> str | None:
    """A device's id before validation, as far as it can be known."""
    value = raw.get("device_id")
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value).strip()
    qr = raw.get("qr")
    if isinstance(qr, str):
        try:
            return parse_qr(qr).device_id
        except CredentialsError:
            return None
    return None


def check_devices_unique(raw: Mapping[str, Any]) -> None:
    """Two boxes cannot share a name (their topics would collide) or be the same box twice."""
    devices = raw.get("devices")
    if not isinstance(devices, list):
        return
    names: dict[str, int] = {}
    ids: dict[str, int] = {}
    problems: list[vol.Invalid] = []
    for i, device in enumerate(devices):
        if not isinstance(device, Mapping):
            continue
        box_id = _raw_device_id(device)
        given = device.get("name")
        name = given if isinstance(given, str) else slugify(box_id) if box_id else None
        if name is not None and name in names:
            if isinstance(given, str):
                message, where = f"'{name}' is already the name of devices[{names[name]}]", "name"
            else:
                message = (
                    f"this box's default name '{name}' is already the name of "
                    f"devices[{names[name]}]; give it a name"
                )
                where = "device_id" if "device_id" in device else "qr"
            problems.append(vol.Invalid(message, path=["devices", i, where]))
        elif name is not None:
            names[name] = i
        if box_id is not None and box_id in ids:
            problems.append(
                vol.Invalid(
                    f"this box is already devices[{ids[box_id]}]",
                    path=["devices", i, "device_id" if "device_id" in device else "qr"],
                )
            )
        elif box_id is not None:
            ids[box_id] = i
    if problems:
        raise vol.MultipleInvalid(problems)


def check_packet_size(raw: Mapping[str, Any]) -> None:
    """``mqtt.max_packet_size`` must let in the largest print request the bridge takes.

    A smaller one would make the broker drop, unanswered, requests the bridge would print.
    """
    mqtt, jobs = raw.get("mqtt"), raw.get("jobs")
    if not isinstance(mqtt, Mapping) or mqtt.get("max_packet_size") is None:
        return
    files = jobs.get("max_file_bytes") if isinstance(jobs, Mapping) else None
    try:
        packet = packet_size(mqtt["max_packet_size"])
        largest_file = field_default(JobsConfig, "max_file_bytes") if files is None else files
        largest_file = file_size(largest_file)
    except vol.Invalid:
        return  # the schema reports the value itself
    needed = largest_payload(largest_file)
    if packet < needed:
        raise vol.Invalid(
            f"is {size_text(packet)}, less than the largest print request "
            f"(jobs.max_file_bytes {size_text(largest_file)} in base64, a third larger, and "
            f"the other fields: {size_text(needed)}); raise it, or lower jobs.max_file_bytes",
            path=["mqtt", "max_packet_size"],
        )
