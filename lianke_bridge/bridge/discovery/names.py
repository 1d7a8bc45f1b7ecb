"""The names Home Assistant shows for the bridge's devices and entities, one table per language.

``homeassistant.language`` picks the table. Only names change with the language: every entity
keeps its ``default_entity_id`` (and ``object_id``), so automations and dashboards keep working
after a switch. Keys are the entities' component keys, plus a few patterns for device names and
ink levels (``{box}``, ``{model}``, ``{port}``, ``{color}`` are filled in). Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

Language = Literal["en", "zh-Hans"]
LANGUAGES: tuple[Language, ...] = ("en", "zh-Hans")

EN: Mapping[str, str] = {
    # devices
    "bridge_device": "Lianke Bridge",
    "bridge_model": "Lianke cloud to MQTT bridge",
    "box_device": "Lianke {box}",
    "box_model": "Cloud print box",
    "printer_usb": "{model} ({box} USB {port})",
    "printer_network": "{model} ({box} network)",
    "printer": "Printer",
    # the bridge
    "connection_state": "Connection state",
    "version": "Version",
    "api_problem": "Cloud API problem",
    "republish": "Republish",
    # a box
    "connectivity": "Cloud connection",
    "cloud_error": "Cloud error",
    "queue": "Queue",
    "last_job": "Last job",
    "job": "Job",
    "print_url": "Print URL",
    "print": "Print",
    "reboot": "Reboot",
    "flush_queue": "Flush queue",
    "refresh": "Refresh",
    "rescan_printers": "Rescan network printers",
    "firmware": "Firmware",
    "ip_address": "IP address",
    "expire_date": "Subscription expires",
    "subscription_expired": "Subscription expired",
    # a printer
    "status": "Status",
    "paper_out": "Paper out",
    "paper_jam": "Paper jam",
    "cover_open": "Cover open",
    "out_of_ink": "Out of ink",
    "out_of_ribbon": "Out of ribbon",
    "error_limit_reached": "Error limit reached",
    "ink_level": "{color} level",
    "reset_error_limit": "Reset error limit",
    "print_test_page": "Print test page",
    "print_maintenance_page": "Print maintenance page",
    "model": "Model",
}

ZH_HANS: Mapping[str, str] = {
    # devices
    "bridge_device": "链科桥接器",
    "bridge_model": "链科云打印 MQTT 桥接器",
    "box_device": "链科云盒 {box}",
    "box_model": "云盒",
    "printer_usb": "{model}（{box} USB {port}）",
    "printer_network": "{model}（{box} 网络）",
    "printer": "打印机",
    # the bridge
    "connection_state": "连接状态",
    "version": "版本",
    "api_problem": "云端 API 异常",
    "republish": "重新发布",
    # a box
    "connectivity": "云端连接",
    "cloud_error": "云端错误",
    "queue": "队列",
    "last_job": "最近任务",
    "job": "打印任务",
    "print_url": "打印链接",
    "print": "打印",
    "reboot": "重启",
    "flush_queue": "清空队列",
    "refresh": "刷新",
    "rescan_printers": "重新搜索网络打印机",
    "firmware": "固件版本",
    "ip_address": "IP 地址",
    "expire_date": "服务到期日",
    "subscription_expired": "服务已到期",
    # a printer
    "status": "状态",
    "paper_out": "缺纸",
    "paper_jam": "卡纸",
    "cover_open": "机盖打开",
    "out_of_ink": "缺墨",
    "out_of_ribbon": "缺碳带",
    "error_limit_reached": "失败次数超限",
    "ink_level": "{color}余量",
    "reset_error_limit": "解除失败限制",
    "print_test_page": "打印测试页",
    "print_maintenance_page": "打印保养页",
    "model": "型号",
}

ZH_HANS_COLORS: Mapping[str, str] = {
    "black": "黑色",
    "cyan": "青色",
    "magenta": "品红",
    "yellow": "黄色",
    "light cyan": "浅青色",
    "light magenta": "浅品红",
    "photo black": "照片黑",
    "matte black": "哑光黑",
    "gray": "灰色",
    "grey": "灰色",
    "light gray": "浅灰色",
    "light grey": "浅灰色",
    "red": "红色",
    "blue": "蓝色",
    "green": "绿色",
}
"""Marker names printers report, in Chinese; any other name is shown as the printer says it."""

TABLES: Mapping[Language, Mapping[str, str]] = {"en": EN, "zh-Hans": ZH_HANS}


def name(language: Language, key: str, **values: object) -> str:
    """The name ``key`` in ``language``, its ``{placeholders}`` filled in."""
    text = TABLES[language][key]
    return text.format(**values) if values else text


def ink_level_name(language: Language, color: str) -> str:
    """``Black level`` / ``黑色余量``: an ink sensor's name, the marker's colour translated."""
    if language == "zh-Hans":
        color = ZH_HANS_COLORS.get(color.strip().lower(), f"{color} ")
    return name(language, "ink_level", color=color).strip()
