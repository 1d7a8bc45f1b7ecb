"""What the bridge says about itself: health, info, events, forwarded logs, metrics.

- :mod:`.monitor`: ``bridge/info``, ``bridge/health`` and the heartbeat file, the
  ``health_check`` answer, events and the log forwarded to ``bridge/log``;
- :mod:`.metrics` and :mod:`.http`: the optional ``/healthz`` and ``/metrics`` endpoint,
  imported only with ``http.enabled`` (nothing here imports them: the service does).

It reads the counters and state the other parts keep and changes nothing of them.
"""
