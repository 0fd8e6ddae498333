"""Direct reply-to (``amq.rabbitmq.reply-to``), as RabbitMQ 3.10 does it.

Rules:
- a channel subscribes with basic.consume on the pseudo-queue, no_ack only
  (406 ``reply consumer cannot acknowledge``), once (406 ``reply consumer already set``);
- its publishes with ``reply_to = amq.rabbitmq.reply-to`` get an opaque
  ``amq.rabbitmq.reply-to.<token>`` instead (406 ``fast reply consumer does not exist``
  without a subscription);
- a publish to the default exchange with that routing key goes straight to
  the subscriber, taking the channel's next delivery tag; an unknown token
  is unroutable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import _replies as R
from .message import Message, Properties

if TYPE_CHECKING:
    from ._channel import Channel
    from .broker import Broker

REPLY_QUEUE = "amq.rabbitmq.reply-to"
REPLY_PREFIX = REPLY_QUEUE + "."


class ReplyTo:
    """The broker's registry of reply subscriptions."""

    def __init__(self, *, broker: Broker) -> None:
        self._broker = broker
        self._targets: dict[str, Channel] = {}

    def subscribe(self, channel: Channel, consumer_tag: str, no_ack: bool) -> str:
        """basic.consume on the pseudo-queue; returns the consumer tag."""
        if not no_ack:
            raise R.invalid_arg("reply consumer cannot acknowledge")
        if channel.reply_key is not None:
            raise R.invalid_arg("reply consumer already set")
        tag = consumer_tag or self._broker.generate_name("amq.ctag-")
        key = REPLY_PREFIX + self._broker.generate_name("")
        channel.reply_key, channel.reply_tag = key, tag
        self._targets[key] = channel
        return tag

    def unsubscribe(self, channel: Channel) -> None:
        """Forget a channel's subscription (cancel or close)."""
        if channel.reply_key is not None:
            self._targets.pop(channel.reply_key, None)
        channel.reply_key = channel.reply_tag = None

    def rewrite(self, channel: Channel, props: Properties) -> Properties:
        """The properties with ``reply_to`` made routable back to ``channel``."""
        if channel.reply_key is None:
            raise R.invalid_arg("fast reply consumer does not exist")
        return {**props, "reply_to": channel.reply_key}

    def deliver(self, routing_key: str, msg: Message) -> bool:
        """Hand a reply to its subscriber; False when there is none (unroutable)."""
        channel = self._targets.get(routing_key)
        if channel is None or channel.closed:
            return False
        channel.deliver_reply(msg)
        return True
