"""``lianke-bridge demo``: the simulated fleet, a broker, the bridge, in one process.

- :mod:`.config`: the demo's configuration (its own topic root, client id and state) and its
  first screen;
- :mod:`.broker`: find a broker that answers, or start one, over :mod:`.probe` (asking a
  broker whether it answers MQTT) and :mod:`.launch` (starting mosquitto or the embedded one).

Only the ``demo`` command imports this package: ``run`` never does.
"""
