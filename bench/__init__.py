"""The benchmark: the bridge measured against floors taken in the same run (``make bench``).

Everything runs here, on loopback: a Mosquitto started for the run, the simulator of the cloud,
the bridge as its own process (so its CPU and memory are its own), a plain MQTT echo process as
the floor. Nothing is tuned for the bridge that the floor does not get too.
"""
