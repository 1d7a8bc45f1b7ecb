"""The MQTT side, one folder per concern on floors that import only the floors below them.

From the ground up: ``records/`` (what every part shares), ``memory/`` (the disk), ``mqtt/``
(the client, every publish), ``polling/`` | ``jobs/`` | ``discovery/``, ``requests/``,
``intake/`` | ``monitoring/``, ``session.py`` and ``service.py``, which wires them
(docs/architecture.md; ``lint-imports`` checks the floors).
"""
