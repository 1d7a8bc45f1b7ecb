"""Keeping every box's state fresh: the polls, their slots, and the fleet's call budget.

- :mod:`.poller`: one ``BoxPoller`` per box: device_info, printer_list, printer_status and
  the day's tasks, what changed published and the events it makes;
- :mod:`.schedule`: the fleet's plan, replanned as it changes, and each box's place in it;
- :mod:`.budget`: the plan's arithmetic (pure): how much slower each kind of poll must run.

Polls read the cloud and publish through ``mqtt/``; they never answer a request, follow a
job or announce to Home Assistant: the service hands them callables for what comes next.
"""
