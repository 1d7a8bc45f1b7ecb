"""lianke-bridge: Lianke (链科) cloud printer boxes on MQTT, with Home Assistant discovery."""

from __future__ import annotations

PROJECT_URL = "https://github.com/lianke-bridge/lianke-bridge"

__version__ = "0.1.0"
"""The one place the version is written: the package build reads it from here (pyproject.toml).

A release is ``X.Y.Z``, tagged ``vX.Y.Z`` (RELEASING.md); between releases it stays the last
release's. The Home Assistant add-on's config.yaml repeats it, because its image installs that
release from the package index: ``make bump VERSION=X.Y.Z`` writes both, a test keeps them equal.

A constant rather than ``importlib.metadata``, which costs the running bridge ~0.5 MiB and
the health check a fifth of its start-up for a string known when the package is built.
"""
