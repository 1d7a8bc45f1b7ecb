"""Taking requests in, from the broker to exactly one answer each.

- :mod:`.arrival`: the payload budget applied in paho's ``on_message``, before anything waits;
- :mod:`.listener`: the message loop: control messages, retained requests, the workers;
- :mod:`.message`: a request's message with its topic parsed once, as the others carry it;
- :mod:`.retained`: MQTT 3.1.1's check that a request was not published retained;
- :mod:`.backlog`: the bounded queue in front of a fixed set of workers;
- :mod:`.answering`: one request's boundary: the memory of transactions, the command, the
  answer on its response topics;
- :mod:`.scaleout`: which requests this instance of a scaled-out bridge answers, the fan-outs.

What a command means is ``requests/``'s; this package only carries requests to it and its
answers out.
"""
