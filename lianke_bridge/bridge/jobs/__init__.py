"""Following every job the bridge submitted to its end, and finding an interrupted print again.

- :mod:`.tracker`: the ``JobTracker``: a print's submission recorded around its cloud call,
  each job polled, published and expired, the tasks of the cloud matched to interrupted prints;
- :mod:`.after_answer`: the work a request leaves for after its answer (a new job's topics).

Jobs read the cloud, publish through ``mqtt/`` and remember through ``memory/``; they never
answer a request themselves nor poll a box.
"""
