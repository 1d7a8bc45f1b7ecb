"""A request as the intake carries it: its MQTT message and its topic, parsed once on arrival.

The listener parses a request's topic as the message arrives and makes this record; the
MQTT 3.1.1 retained check holds it, the bounded queue carries it to a worker, and answering
reads its parts (which command, which box, where the answer goes) from it. Nothing on the way
parses the topic again.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiomqtt

from lianke_bridge.bridge.records.topics import RequestTopic


@dataclass(frozen=True)
class RequestMessage:
    """One request message, with what its topic says."""

    message: aiomqtt.Message
    where: RequestTopic
    """The topic's parts: bridge or device scope, the box, the command."""
    response_topic: str
    """The contract's topic the answer goes to (``…/response/<command>``)."""

    @property
    def topic(self) -> str:
        """The request's topic, as it came."""
        return self.message.topic.value
