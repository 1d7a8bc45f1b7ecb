"""A box: its cloud account (the QR token) and what the cloud knows of it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lianke_bridge.cloud import codes
from lianke_bridge.cloud.models.values import as_mapping, int_or_none, parse_cloud_date, str_or_none


@dataclass(frozen=True)
class Credentials:
    """A box's cloud account: the two halves of its QR token."""

    device_id: str
    device_key: str = field(repr=False)

    def as_params(self) -> dict[str, str]:
        """The two fields every per-box call carries."""
        return {"deviceId": self.device_id, "deviceKey": self.device_key}


@dataclass(frozen=True)
class DeviceInfo:
    """``device_info``: the box's cloud connection, subscription, hardware and network."""

    online: codes.OnlineState
    expire_date: str | None
    """As the cloud writes it (``2024年8月25日``); see ``expire_iso``."""
    is_expired: bool
    usb_ports: int
    device_type: int | None
    hardware: str | None
    firmware: str | None
    lan_ip: str | None
    wwan_ip: str | None

    @property
    def is_online(self) -> bool:
        """Only ``online == 1`` counts as online."""
        return self.online is codes.OnlineState.ONLINE

    @property
    def ip(self) -> str | None:
        """The address the box reports: Wi-Fi/WAN first, then LAN (169.254.x is link-local)."""
        for address in (self.wwan_ip, self.lan_ip):
            if address and not address.startswith("169.254."):
                return address
        return self.wwan_ip or self.lan_ip

    @property
    def expire_iso(self) -> str | None:
        """``2024年8月25日`` (or ``2024-08-25``) as ISO ``2024-08-25``; None if unparseable."""
        return parse_cloud_date(self.expire_date)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> DeviceInfo:
        """Parse ``info``, ``network`` and ``version``."""
        info = as_mapping(data.get("info"))
        network = as_mapping(data.get("network"))
        version = as_mapping(data.get("version"))
        return cls(
            online=codes.online_state(info.get("online")),
            expire_date=str_or_none(info.get("expire_date")),
            is_expired=bool(info.get("is_expire")),
            usb_ports=int_or_none(info.get("usb_port_num")) or 0,
            device_type=int_or_none(info.get("device_type")),
            hardware=str_or_none(version.get("hardware")),
            firmware=str_or_none(version.get("software")),
            lan_ip=str_or_none(as_mapping(network.get("lan")).get("ipaddr")),
            wwan_ip=str_or_none(as_mapping(network.get("wwan")).get("ipaddr")),
        )
