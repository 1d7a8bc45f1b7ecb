"""What the simulated cloud makes of a document: its pages and its size, the same every time."""

from __future__ import annotations

import hashlib
import re

MAX_FILE_BYTES = 20 * 1024 * 1024
"""file_pages refuses bigger files."""


def count_pages(filename: str, content: bytes) -> int:
    """Pages of an uploaded file: a PDF's ``/Type /Page`` objects, else one per 100 kB (min 1)."""
    if content.startswith(b"%PDF"):
        return max(1, len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", content)))
    if filename.lower().rsplit(".", 1)[-1] in {"jpg", "jpeg", "png", "gif", "bmp", "webp"}:
        return 1
    return 1 + len(content) // 100_000


def url_pages(url: str) -> int:
    """Pages of a document at a URL: 1 to 5, the same for the same URL every time."""
    return 1 + hashlib.sha256(url.encode()).digest()[0] % 5


def url_bytes(url: str) -> int:
    """Size reported for a URL's document (deterministic, plausible)."""
    return 40_000 + int.from_bytes(hashlib.sha256(url.encode()).digest()[1:3], "big")
