"""``lianke-bridge init``: a commented ``config.yaml`` from an ApiKey and the boxes' QR links.

Asks in a terminal (the ApiKey without echo) or takes everything as options, for scripts. The
file is written only readable by its owner (it holds secrets), then checked with the same code as
``check-config``. No secret is ever printed.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from lianke_bridge import errors
from lianke_bridge.cloud.qr import parse_qr

_NAME = re.compile(r"[a-z0-9_-]+")
_NAMED_QR = re.compile(r"([a-z0-9_-]+)=(.+)")
"""``--qr office=LINK``: a box name before the link (a link itself has ``:`` before any ``=``)."""
API_KEY_VARIABLES = ("LIANKE_API_KEY", "LIANKE_API_KEY_FILE")


@dataclass(frozen=True)
class Box:
    """One box for the new file: its topic name, id and the QR link that holds its key."""

    name: str
    device_id: str
    qr: str


def read_box(text: str, taken: set[str]) -> Box:
    """A ``LINK`` or ``NAME=LINK`` of ``--qr`` (or typed in) as a box; raises ``InitError``."""
    text = text.strip()
    name = ""
    if (named := _NAMED_QR.fullmatch(text)) and "://" not in named[1]:
        name, text = named[1], named[2].strip()
    try:
        credentials = parse_qr(text)
    except errors.CredentialsError as err:
        raise errors.InitError(f"not a box's QR link or token: {err}") from None
    name = name or credentials.device_id.lower()
    if not _NAME.fullmatch(name) or name == "bridge":
        raise errors.InitError(f"{name!r} cannot name a box: use a-z, 0-9, _ and -, not 'bridge'")
    if name in taken:
        raise errors.InitError(f"two boxes are named {name!r}: give one another name (NAME=LINK)")
    return Box(name=name, device_id=credentials.device_id, qr=text)


def _quote(value: str) -> str:
    """A YAML scalar that stays a string whatever it holds (JSON strings are YAML)."""
    return json.dumps(value, ensure_ascii=False)


def render(
    api_key: str | None, boxes: Sequence[Box], mqtt_host: str, state_dir: str | None = None
) -> str:
    """The commented configuration text; ``state_dir`` None keeps ``data`` beside the file."""
    line = "state_dir: " + ("data" if state_dir is None else _quote(state_dir))
    where = ", relative to this file" if state_dir is None else ""
    state = f"{line:<40} # what the bridge remembers{where}"
    if api_key is None:
        lianke = (
            "# The Lianke open-platform account. The ApiKey comes from the environment\n"
            "# (LIANKE_API_KEY, or LIANKE_API_KEY_FILE naming a file that holds it).\n"
            "lianke: {}\n"
        )
    else:
        lianke = (
            "# The Lianke open-platform account: your developer ApiKey (a secret).\n"
            "lianke:\n"
            f"  api_key: {_quote(api_key)}\n"
        )
    devices = "".join(
        f"  # box {box.device_id}, on the topics lianke/{box.name}/…; its QR link holds the\n"
        "  # box's key (a secret)\n"
        f"  - name: {box.name}\n"
        f"    qr: {_quote(box.qr)}\n"
        for box in boxes
    )
    return f"""\
# lianke-bridge configuration, written by `lianke-bridge init`.
# Every option, with its default and a comment: config.example.yaml (shipped with the package;
# in the Docker image at /usr/share/lianke-bridge/config.example.yaml). Check this file with
# `lianke-bridge check-config -c FILE`. It holds secrets: keep it readable by you only.

{lianke}
# The Lianke boxes, from the links in their QR codes. A box's name is its topic level.
devices:
{devices}
# The MQTT broker (MQTT_HOST, MQTT_PORT, MQTT_USERNAME, MQTT_PASSWORD override these).
mqtt:
  host: {_quote(mqtt_host)}
  port: 1883
  # username: lianke
  # password: !secret mqtt_password      # from secrets.yaml beside this file
  base_topic: lianke

# Home Assistant MQTT discovery: every box and printer appears as a device.
homeassistant:
  enabled: true

logging:
  level: INFO                            # DEBUG, INFO, WARNING or ERROR (env LOG_LEVEL)

{state}
"""


@dataclass
class Prompter:
    """Where ``init`` asks its questions (a terminal), replaceable in tests."""

    ask: Callable[[str], str]
    ask_secret: Callable[[str], str]
    say: Callable[[str], None]


def terminal_prompter(out: TextIO) -> Prompter:
    """Questions on the terminal; the ApiKey is read without echo."""

    def say(text: str) -> None:
        print(text, file=out, flush=True)

    return Prompter(ask=input, ask_secret=getpass.getpass, say=say)


def gather(
    *,
    api_key: str | None,
    qrs: Sequence[str],
    environ: Mapping[str, str],
    prompter: Prompter | None,
) -> tuple[str | None, list[Box]]:
    """The ApiKey (None: from the environment) and the boxes, asking for what is missing."""
    from_env = not api_key and any(environ.get(var) for var in API_KEY_VARIABLES)
    if not api_key and not from_env:
        if prompter is None:
            raise errors.InitError("no ApiKey: give --api-key (or set LIANKE_API_KEY)")
        while not api_key:
            api_key = prompter.ask_secret("Lianke ApiKey (not shown): ").strip()
    boxes: list[Box] = []
    for text in qrs:
        boxes.append(read_box(text, {box.name for box in boxes}))
    if not boxes:
        if prompter is None:
            raise errors.InitError("no box: give --qr LINK (or --qr NAME=LINK) once per box")
        boxes = ask_boxes(prompter)
    return (None if from_env else api_key), boxes


def ask_boxes(prompter: Prompter) -> list[Box]:
    """QR links typed or pasted one per line, until an empty line (at least one box)."""
    prompter.say("The link in each box's QR code (scan it with a phone), one per line;")
    prompter.say("NAME=LINK names the box (default: its device id). An empty line ends.")
    boxes: list[Box] = []
    while True:
        text = prompter.ask(f"box {len(boxes) + 1} QR link: ").strip()
        if not text:
            if boxes:
                return boxes
            prompter.say("at least one box is needed")
            continue
        try:
            boxes.append(read_box(text, {box.name for box in boxes}))
        except errors.InitError as err:
            prompter.say(str(err))
            continue
        prompter.say(f"  {boxes[-1].name}: box {boxes[-1].device_id}")


def write_config(path: Path, text: str, *, force: bool) -> None:
    """Write the file readable by its owner only; refuse to replace one unless ``force``."""
    if path.exists() and not force:
        raise errors.InitError(f"{path} exists: give --force to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    path.chmod(0o600)  # an existing file keeps its mode through O_TRUNC


def interactive() -> bool:
    """Whether ``init`` may ask: a terminal on both ends."""
    return sys.stdin.isatty() and sys.stdout.isatty()
