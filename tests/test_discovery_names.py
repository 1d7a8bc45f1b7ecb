"""Names in two languages (``homeassistant.language``): Chinese names, the same ids. Pure."""

from __future__ import annotations

import re
from dataclasses import replace

from test_discovery import CTX, ENTITY_CTX, LASER, OFFICE, fleet

from lianke_bridge.bridge.discovery import DiscoveryContext, DiscoveryMessage, printer_discovery
from lianke_bridge.bridge.discovery.names import EN, ZH_HANS, Language, ink_level_name

CJK = re.compile(r"[\u4e00-\u9fff（]")
"""A Chinese character, or the full-width bracket of ``型号（office USB 1）``."""


def test_every_english_name_has_a_chinese_one() -> None:
    """The zh-Hans table names everything the English one does, in Chinese, placeholders kept."""
    assert set(ZH_HANS) == set(EN)
    for key, english in EN.items():
        chinese = ZH_HANS[key]
        assert CJK.search(chinese), (key, chinese)
        assert chinese != english, key
        assert set(re.findall(r"{\w+}", chinese)) == set(re.findall(r"{\w+}", english)), key


def test_both_languages_give_the_same_ids() -> None:
    """Entity ids, object ids, unique ids and trigger ids do not depend on the language."""

    def ids(ctx: DiscoveryContext) -> list[tuple[str, str, str, str]]:
        return sorted(
            (
                m.topic,
                str(c.get("default_entity_id", "")),
                str(c.get("object_id", "")),
                str(c.get("unique_id", key)),
            )
            for m in fleet(ctx)
            for key, c in components(m).items()
        )

    for mode in (CTX, ENTITY_CTX):
        chinese = replace(mode, language="zh-Hans")
        assert ids(mode) == ids(chinese)
        assert triggers(mode) == triggers(chinese)


def test_chinese_names_on_every_entity_and_device() -> None:
    """With zh-Hans every name the bridge gives is Chinese; printer models stay as reported."""
    ctx = replace(CTX, language="zh-Hans")
    for message in fleet(ctx):
        payload = message.payload
        assert payload is not None
        device_name = payload["device"]["name"]
        assert CJK.search(device_name), device_name
        for config in components(message).values():
            if "name" in config:
                assert CJK.search(str(config["name"])), config["name"]
    laser = printer_discovery(ctx, OFFICE, LASER)[0].payload
    assert laser is not None
    assert laser["device"]["name"] == "Kyocera MA2000w GX（office USB 1）"
    assert laser["components"]["paper_out"]["name"] == "缺纸"
    assert laser["components"]["flush_queue"]["name"] == "清空队列"


def test_page_buttons_in_both_modes_and_languages() -> None:
    """Both page buttons are announced in device and entity mode, named in the language asked."""
    wanted: dict[Language, dict[str, str]] = {
        "en": {
            "print_test_page": "Print test page",
            "print_maintenance_page": "Print maintenance page",
        },
        "zh-Hans": {"print_test_page": "打印测试页", "print_maintenance_page": "打印保养页"},
    }
    for mode in (CTX, ENTITY_CTX):
        for language, names in wanted.items():
            ctx = replace(mode, language=language)
            found = {
                key: config
                for message in printer_discovery(ctx, OFFICE, LASER)
                for key, config in components(message).items()
                if key in names
            }
            assert {key: config["name"] for key, config in found.items()} == names
            assert {key: config["payload_press"] for key, config in found.items()} == {
                "print_test_page": '{"port": 1, "page": "test"}',
                "print_maintenance_page": '{"port": 1, "page": "maintenance"}',
            }
            assert found["print_test_page"]["default_entity_id"] == (
                "button.lianke_office_p1_print_test_page"
            )


def test_ink_levels_name_their_colour() -> None:
    """Known marker colours are translated; any other marker name is kept as the printer says."""
    assert ink_level_name("en", "Black") == "Black level"
    assert ink_level_name("zh-Hans", "Black") == "黑色余量"
    assert ink_level_name("zh-Hans", "Photo Blue") == "Photo Blue 余量"


def components(message: DiscoveryMessage) -> dict[str, dict[str, object]]:
    """A message's configs by component key (one for a per-entity topic)."""
    payload = message.payload
    assert payload is not None
    if "components" in payload:
        return dict(payload["components"])
    return {message.topic.split("/")[-2]: payload}


def triggers(ctx: DiscoveryContext) -> list[tuple[str, object, object, object, object]]:
    """Every device trigger as Home Assistant keys it (device, type, subtype) with its match."""
    return sorted(
        (m.topic, c["type"], c["subtype"], c["topic"], c["payload"])
        for m in fleet(ctx)
        for c in components(m).values()
        if c.get("automation_type") == "trigger"
    )
