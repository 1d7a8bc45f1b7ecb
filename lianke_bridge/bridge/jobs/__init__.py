"""Following every job the bridge submitted to its end, and finding an interrupted print again.

- :mod:`.tracker`: the ``JobTracker``: each job polled, published and expired;
- :mod:`.recovery`: a print recorded around its cloud call, one a crash cut off found again;
- :mod:`.cloud_time`: the cloud's task times and the zone they are in;
- :mod:`.after_answer`: the work a request leaves for after its answer (a new job's topics).

Jobs read the cloud, publish through ``mqtt/`` and remember through ``memory/``; they never
answer a request themselves nor poll a box.
"""
