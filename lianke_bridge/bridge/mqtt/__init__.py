"""The MQTT side's plumbing: one client, its reconnect loop, and the one way out.

- :mod:`.session`: the client and its options, the reconnect loop, subscriptions, the hooks
  on paho's ``on_message`` (redeliveries, arrivals), acknowledgements;
- :mod:`.publisher`: every publish, with what is retained remembered for the reconnect;
- :mod:`.publish_decoder`: paho's PUBLISH decoding without copies.

It knows topics (``records/``) and the store's subscriptions (``memory/``), never what a
request or a poll means.
"""
