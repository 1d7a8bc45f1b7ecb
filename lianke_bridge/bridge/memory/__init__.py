"""What the bridge remembers across restarts, crashes and power loss, and what it does with it.

- :mod:`.statedir`: the state folder's modes and atomic file writes; disk trouble said once;
- :mod:`.statedb`: the SQLite file, written in order on a thread of its own;
- :mod:`.store`: what is remembered (jobs, discovery, requests seen, print submissions,
  subscriptions) and when each write must be on disk;
- :mod:`.transactions`: exactly once for requests that carry a ``transaction``.

The only part of ``bridge/`` that touches the disk. It knows the shared records
(``records/``) and nothing above them: no MQTT, no cloud.
"""
