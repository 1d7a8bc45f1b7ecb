"""Following every job the bridge submitted to its end, and finding an interrupted print again.

- :mod:`.tracker`: the ``JobTracker``: each job polled, published and expired;
- :mod:`.polls`: when each job is next asked about (rarely while the cloud's pushes arrive);
- :mod:`.pushes`: the cloud's pushes received: a job's end confirmed, a box refreshed;
- :mod:`.recovery`: a print recorded around its cloud call, one a crash cut off found again;
- :mod:`.cloud_time`: the cloud's task times and the zone they are in.

A new job's topics are published by its caller, after the answer that carries the job
(``JobTracker.announcer``); the background's finds are published at once.

Jobs read the cloud, publish through ``mqtt/`` and remember through ``memory/``; they never
answer a request themselves nor poll a box.
"""
