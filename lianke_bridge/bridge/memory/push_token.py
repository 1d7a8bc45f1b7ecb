"""The secret token in the address of the bridge's push endpoint, kept in ``state_dir``.

``lianke.callback_url`` ending in ``{token}`` makes the bridge receive the cloud's pushes on its
own HTTP endpoint; the token is the part of the address nobody can guess, so a stranger who
finds the port cannot send pushes. Made once (32 characters of ``secrets.token_urlsafe``),
kept in ``push-token.json`` (0600, written atomically) so the address stays the same across
restarts, and read by ``lianke-bridge callback-url``, which prints the whole address for the
Lianke console's message push. Delete the file and restart to get a new one.

It never appears in a log line, an error or an MQTT payload: the bridge's log says where the
file is, never what it holds.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from pathlib import Path

from lianke_bridge.bridge.memory.statedir import make_private, write_atomically

_LOGGER = logging.getLogger(__name__)

TOKEN_FILE = "push-token.json"  # noqa: S105 - the file's name
TOKEN_BYTES = 24
"""Random bytes of a token (32 characters once encoded)."""
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,128}")


def push_token(state_dir: Path, *, create: bool = True) -> str | None:
    """The bridge's push token: read from ``state_dir``, or made (and kept) when missing.

    A file that cannot be read or holds no valid token is replaced. When the folder takes no
    writes, a token for this run only is returned (pushes of this run's jobs still arrive) and
    one WARNING says why. ``create=False`` only reads (None when there is none).
    """
    path = state_dir / TOKEN_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        data = None
    except (OSError, ValueError) as err:
        _LOGGER.warning("%s cannot be read (%s); making a new push token", path, err)
        data = None
    token = data.get("token") if isinstance(data, dict) else None
    if isinstance(token, str) and _TOKEN.fullmatch(token):
        return token
    if not create:
        return None
    token = secrets.token_urlsafe(TOKEN_BYTES)
    try:
        make_private(state_dir, ())
        write_atomically(path, {"token": token})
    except OSError as err:
        _LOGGER.warning(
            "cannot keep the push token in %s (%s): this run's address holds a token of its own, "
            "so the address given to the Lianke console changes at every start",
            path,
            err.strerror or err,
        )
    return token
