"""The records every part of the bridge shares: the floor under all the others.

- :mod:`.topics`: every MQTT topic of the contract, built and parsed in one place;
- :mod:`.state`: the contract's box, printer and job snapshots;
- :mod:`.envelope`: the answers' envelope and the bridge's error codes;
- :mod:`.freshness`: how long a published value stays true (re-sent, expired);
- :mod:`.box`: everything the bridge knows about one configured box;
- :mod:`.health`: the ``health_check`` answer, filled by the monitor;
- :mod:`.answer`: an answer and the work that follows it (a new job's topics).

Pure data and the rules that shape it: no I/O, and no import of any other part of ``bridge/``.
"""
