"""lianke-bridge: Lianke (链科) cloud printer boxes on MQTT, with Home Assistant discovery."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lianke-bridge")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

PROJECT_URL = "https://github.com/lianke-bridge/lianke-bridge"
