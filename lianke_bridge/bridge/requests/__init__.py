"""MQTT requests, from payload bytes to the answer's data; pure but for the handlers.

- :mod:`.payload`: a payload decoded once (its body and transaction);
- :mod:`.model`: the typed commands and the limits;
- :mod:`.fields` and :mod:`.parse`: each command's payload read into its typed command;
- :mod:`.build`: print and page-count commands -> the cloud's ``PrintRequest``;
- :mod:`.render`: the HTML page a text print uploads;
- :mod:`.handlers`: what each command does, given a narrow :mod:`.context`;
- :mod:`.registry`: each command defined once (name, scope, parser, handler).

The answer's envelope and the bridge's error codes are shared with the rest of the bridge:
``records/envelope.py``.
"""
