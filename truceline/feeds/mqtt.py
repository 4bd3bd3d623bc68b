"""`listen mqtt`: a subscriber that stores every message exactly once.

QoS 1 with a persistent session (clean session off) under a stable client id: the broker keeps
what is published while the listener is away and delivers again what was in flight when it
stopped. A message is acknowledged (PUBACK) only after the batch holding it committed, so a
listener killed at any moment loses nothing; what it stored and is delivered again is a
duplicate by its identity (source and id, else the record's hash), never a second record.

A payload starting with `<` is a CoT event (or several), one starting with `{` a JSON object
with the observations CSV's fields (`"record": "observation"`, the default) or the positions
CSV's (`"record": "position"`).
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from truceline.errors import FieldError, TrucelineError
from truceline.feeds.sink import FeedSink, printable
from truceline.i18n.message import M
from truceline.ingest import cot

log = logging.getLogger("truceline.feeds")

KEEPALIVE_S = 30
MAX_PAYLOAD = cot.MAX_EVENT_BYTES * 16  # a message of several events, or one JSON object
MAX_EVENTS_PER_MESSAGE = 1000


def default_client_id(topic: str, reporter: str) -> str:
    """Stable across restarts (the broker keeps the session under it), distinct per topic."""
    return f"truceline-{reporter}-{hashlib.sha256(topic.encode()).hexdigest()[:8]}"


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    tls: bool

    @classmethod
    def parse(cls, url: str) -> Broker:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise FieldError(
                "url", M("{url!r}: give mqtt://HOST:PORT or mqtts://HOST:PORT", url=url)
            )
        try:
            port = parts.port
        except ValueError:
            raise FieldError("url", M("{url!r}: the port is not a number", url=url)) from None
        tls = parts.scheme == "mqtts"
        return cls(parts.hostname, port or (8883 if tls else 1883), tls)


def read_payload(payload: bytes) -> list[cot.RawEvent | cot.Rejected] | dict[str, Any]:
    """A message's content: CoT events (at most MAX_EVENTS_PER_MESSAGE), a JSON object, or
    why it is neither."""
    if len(payload) > MAX_PAYLOAD:
        reason = M("a message longer than {limit:,} bytes", limit=MAX_PAYLOAD)
        return [cot.Rejected(0, None, reason)]
    head = payload.lstrip()[:1]
    if head == b"<":
        events = list(itertools.islice(cot.split_events(payload), MAX_EVENTS_PER_MESSAGE + 1))
        if len(events) > MAX_EVENTS_PER_MESSAGE:
            reason = M("more than {limit:,} events in one message", limit=MAX_EVENTS_PER_MESSAGE)
            return [cot.Rejected(0, None, reason)]
        return events
    if head == b"{":
        try:
            value = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            return [cot.Rejected(0, None, M("not JSON: {error}", error=str(exc)))]
        if not isinstance(value, dict):
            return [cot.Rejected(0, None, M("not a JSON object"))]
        return value
    if payload[:1] == b"\xbf":
        return [cot.Rejected(0, None, cot.PROTOBUF_REASON)]
    return [cot.Rejected(0, None, M("neither a CoT event (<…) nor a JSON object ({{…}})"))]


class MqttListener:
    """Subscribes `topic` on `broker` for `sink` (start, then stop)."""

    def __init__(
        self,
        sink: FeedSink,
        broker: Broker,
        topic: str,
        *,
        client_id: str | None = None,
        username: str | None = None,
        password_file: Path | None = None,
        tls_ca: Path | None = None,
    ) -> None:
        self.sink, self.broker, self.topic = sink, broker, topic
        self.client_id = client_id or default_client_id(topic, sink.reporter)
        self.connected = threading.Event()
        self.subscribed = threading.Event()  # the broker holds the subscription
        client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=self.client_id, clean_session=False,
            protocol=paho.MQTTv311, manual_ack=True,
        )  # fmt: skip
        if username is not None:
            password = None
            if password_file is not None:
                try:
                    password = password_file.read_text(encoding="utf-8").strip()
                except OSError as exc:
                    raise FieldError(
                        "password_file", M("cannot read it: {reason}", reason=exc.strerror)
                    ) from None
            client.username_pw_set(username, password)
        if broker.tls or tls_ca is not None:
            client.tls_set(ca_certs=None if tls_ca is None else str(tls_ca))
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        client.reconnect_delay_set(1, 30)
        self.client = client
        sink.on_lost = self.reconnect

    def start(self) -> None:
        try:
            self.client.connect(self.broker.host, self.broker.port, keepalive=KEEPALIVE_S)
        except OSError as exc:
            raise TrucelineError(
                M(
                    "cannot reach the MQTT broker at {host}:{port}: {error}",
                    host=self.broker.host,
                    port=self.broker.port,
                    error=str(exc),
                )
            ) from None
        self.client.loop_start()

    def wait_subscribed(self, timeout: float) -> bool:
        return self.subscribed.wait(timeout)

    def stop(self) -> None:
        """After the sink has committed (and acknowledged) what it held."""
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(
        self, client: paho.Client, _data: Any, flags: Any, reason: Any, _props: Any
    ) -> None:
        if reason.is_failure:
            log.error("mqtt %s:%s refused the connection: %s", self.broker.host,
                      self.broker.port, reason)  # fmt: skip
            return
        resumed = bool(getattr(flags, "session_present", False))
        log.info("mqtt: connected as %s (%s session)", self.client_id,
                 "resumed" if resumed else "new")  # fmt: skip
        client.subscribe(self.topic, qos=1)
        self.connected.set()

    def _on_subscribe(
        self, _client: paho.Client, _data: Any, _mid: int, reasons: Any, _props: Any
    ) -> None:
        if any(reason.is_failure for reason in reasons):
            log.error("mqtt: the broker refused the subscription to %r: %s", self.topic, reasons)
            return
        self.subscribed.set()

    def _on_disconnect(
        self, _client: paho.Client, _data: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        self.connected.clear()
        if reason.is_failure:
            log.warning("mqtt: disconnected (%s); reconnecting", reason)

    def _on_message(self, client: paho.Client, _data: Any, message: paho.MQTTMessage) -> None:
        try:
            self._receive(client, message)
        except Exception:  # never paho's loop thread: it would stop the feed without a word
            log.exception("mqtt: a message could not be taken (it is delivered again)")

    def _receive(self, client: paho.Client, message: paho.MQTTMessage) -> None:
        topic = printable(message.topic) if isinstance(message.topic, str) else "?"
        where = f"mqtt {topic[:200]} message {message.mid}"
        mid, qos = message.mid, message.qos

        def ack() -> None:
            if qos > 0:
                client.ack(mid, qos)

        while self.sink.full and not self.sink.stopping:  # the store is behind
            time.sleep(0.05)
        content = read_payload(bytes(message.payload))
        self.sink.offer_all(where, [content] if isinstance(content, dict) else content, ack)

    def reconnect(self) -> None:
        """After a lost batch: the broker delivers every unacknowledged message again."""
        self.client.reconnect()
