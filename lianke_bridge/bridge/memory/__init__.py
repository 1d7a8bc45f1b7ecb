"""What the bridge remembers across restarts, crashes and power loss, and what it does with it.

- :mod:`.statedir`: the state folder's modes and atomic file writes; disk trouble said once;
- :mod:`.writer`: the thread every write runs on, in order, gathered into few commits;
- :mod:`.statedb`: the SQLite file and what one commit does;
- :mod:`.store`: what is remembered (jobs, discovery, requests seen, print submissions,
  subscriptions) and when each write must be on disk, over :mod:`.entries` (its records);
- :mod:`.transactions`: exactly once for requests that carry a ``transaction``;
- :mod:`.push_token`: the secret token of the push endpoint's address.

The only part of ``bridge/`` that touches the disk. It knows the shared records
(``records/``) and nothing above them: no MQTT, no cloud.
"""
