"""MQTT requests, from payload bytes to the answer's data; pure but for the handlers.

- :mod:`.commands`: one module per command: its typed request and answer, parser, handler and
  record;
- :mod:`.command`: what that record holds (:class:`~.command.DeviceCommand`, ``BridgeCommand``);
- :mod:`.registry`: the commands collected, and a request's topic and payload -> what runs it;
- :mod:`.payload`: a payload decoded once (its body and transaction);
- :mod:`.model`: the requests' common base and the limits;
- :mod:`.fields`: readers of payload fields and the parsers several commands share;
- :mod:`.ports`: which port and printer a device command means;
- :mod:`.submission`: what a command submitting a print job shares (answer, recovery);
- :mod:`.build`: print and page-count commands -> the cloud's ``PrintRequest``;
- :mod:`.render`: the HTML page a text print uploads;
- :mod:`.answer`: a typed answer -> its JSON (one function for every command).

The answer's envelope and the bridge's error codes are shared with the rest of the bridge:
``records/envelope.py``.
"""
