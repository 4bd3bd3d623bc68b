"""`listen mqtt` with the real Mosquitto broker: QoS 1, a persistent session, and a message
acknowledged only once stored, so a listener killed mid-stream loses nothing and stores
nothing twice."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine, func, select

from tests.feeds.certs import Authority
from tests.feeds.conftest import MARKER, TODAY, WHEN, count, event, wait_for
from truceline.feeds.mqtt import Broker, MqttListener, read_payload
from truceline.feeds.sink import FeedSink
from truceline.store import tables as t

SHARED_BROKER = ("127.0.0.1", 1883)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture
def shared_broker() -> tuple[str, int]:
    """The machine's Mosquitto (`.ci/run` starts it): in CI this runs, never skips."""
    if not reachable(*SHARED_BROKER):
        if os.environ.get("TRUCELINE_REQUIRE_MQTT") == "1" or os.environ.get("CI") == "true":
            pytest.fail("no MQTT broker at 127.0.0.1:1883 (.ci/run starts Mosquitto)")
        pytest.skip("no MQTT broker at 127.0.0.1:1883")
    return SHARED_BROKER


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """A Mosquitto of this test's own, sized for a long stream to an offline listener (the
    default queues 1000 messages and keeps 20 in flight)."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).exists():
        pytest.fail("mosquitto is not installed (make test installs it)")
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "max_queued_messages 0\nmax_inflight_messages 1000\nlog_dest none\n"
    )
    broker = subprocess.Popen([binary, "-c", str(conf)])
    try:
        wait_for(lambda: reachable("127.0.0.1", port), 10, "mosquitto")
        yield ("127.0.0.1", port)
    finally:
        broker.terminate()
        broker.wait(10)


def publisher(host: str, port: int) -> paho.Client:
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(host, port)
    client.loop_start()
    return client


def observation(n: int) -> bytes:
    return json.dumps({
        "id": f"s-{n}", "observed_at": f"{TODAY}T09:{n // 600 % 60:02d}:{n // 10 % 60:02d}Z",
        "lat": 40.5 + n % 97 / 1000, "lon": 47.3, "kind": "presence", "source_kind": "sensor",
        "source": "seismic-7",
    }).encode()  # fmt: skip


def test_a_payload_is_cot_when_it_starts_with_a_tag_and_json_when_with_a_brace() -> None:
    assert isinstance(read_payload(b'  {"id": "x"}'), dict)
    events = read_payload(event("m-1", "a-h-G", 40.3, 46.7, WHEN.format(1, 0)))
    assert isinstance(events, list) and len(events) == 1
    many = event("m-1", "a-h-G", 40.3, 46.7, WHEN.format(1, 0)) * 1001
    for junk, why in ((b"\xbf\x01\x02", "set the client to send XML"), (b"[1]", "neither"),
                      (many, "more than 1,000 events in one message"),
                      (b"{nope", "not JSON"), (b"", "neither")):  # fmt: skip
        refused = read_payload(junk)
        assert isinstance(refused, list) and why in refused[0].reason


def test_mqtt_messages_of_every_kind_are_stored_once_and_a_bad_one_is_rejected(
    demo_engine: Engine, shared_broker: tuple[str, int]
) -> None:
    topic = f"truceline-test/{uuid.uuid4().hex}"
    sink = FeedSink(demo_engine, reporter="green", keyring=None, name="mqtt test", fmt="mqtt")
    listener = MqttListener(sink, Broker(*shared_broker, tls=False), topic,
                            client_id=f"t-{uuid.uuid4().hex[:12]}")  # fmt: skip
    sink.start()
    listener.start()
    try:
        assert listener.wait_subscribed(10)
        pub = publisher(*shared_broker)
        marker = event("m-1", "a-h-G", 40.3, 46.7, WHEN.format(1, 0), MARKER.decode())
        position = {"record": "position", "unit": "ANDROID-green-4", "actor": "green",
                    "time": f"{TODAY}T08:00:00Z", "lat": 40.1, "lon": 46.9}  # fmt: skip
        for payload in (marker, marker, observation(1), json.dumps(position).encode(),
                        b'{"record": "complaint"}', b"garbage"):  # fmt: skip
            pub.publish(topic, payload, qos=1).wait_for_publish(5)
        wait_for(lambda: sink.counts.rejected == 2 and sink.counts.stored == 3, what="stored")
        pub.disconnect()
    finally:
        counts = sink.stop()
        listener.stop()
    assert (counts.positions, counts.observations, counts.duplicates) == (1, 2, 1)
    with demo_engine.connect() as conn:
        reporters = set(conn.execute(select(t.observations.c.reporter)).scalars())
    assert reporters == {"green"}  # the feed's contingent, for a JSON object that names none


def start_listener(url: str, db_url: str, topic: str, keys: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "truceline", "listen", "mqtt", "--url", url, "--topic", topic,
         "--reporter", "green", "--db", db_url, "--key-dir", str(keys)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stderr is not None
    line = process.stderr.readline()
    while "listening" not in line:
        assert line, "the listener stopped before it subscribed"
        line = process.stderr.readline()
    threading.Thread(target=process.stderr.read, daemon=True).start()  # keep the pipe drained
    return process


def children_of(pid: int) -> list[int]:
    """The processes whose parent is `pid` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def distinct_and_total(engine: Engine) -> tuple[int, int]:
    o = t.observations
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(o)).scalar_one()
        distinct = conn.execute(select(func.count(func.distinct(o.c.record_id)))).scalar_one()
    return int(distinct), int(total)


def test_a_listener_killed_mid_stream_and_restarted_stores_every_message_exactly_once(
    demo_engine: Engine, db_url: str, own_broker: tuple[str, int], tmp_path: Path
) -> None:
    host, port = own_broker
    url, topic, total = f"mqtt://{host}:{port}", "sensors/seismic-7", 10_000
    listener = start_listener(url, db_url, topic, tmp_path / "keys")
    pub = publisher(host, port)
    sent: list[Any] = []

    def stream() -> None:  # a steady stream of about 4,000 messages a second
        for n in range(total):
            sent.append(pub.publish(topic, observation(n), qos=1))
            if n % 100 == 99:
                time.sleep(0.025)

    streaming = threading.Thread(target=stream)
    streaming.start()
    # killed as soon as it has stored a batch, while the stream flows on into the next one
    wait_for(lambda: count(demo_engine, t.observations) > 0, 30, "the first batch")
    children = children_of(listener.pid)
    assert children  # its worker and assessing processes
    listener.send_signal(signal.SIGKILL)
    listener.wait(10)
    assert streaming.is_alive()  # mid-stream
    # its children cannot be told to stop: they see it is gone and end (no orphan is left
    # holding a database connection)
    wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in children), 10,
             "the killed listener's children to end")  # fmt: skip
    streaming.join()
    for info in sent:
        info.wait_for_publish(30)  # the broker holds the rest for the listener's session
    stored_while_down = count(demo_engine, t.observations)
    assert 0 < stored_while_down < total
    listener = start_listener(url, db_url, topic, tmp_path / "keys")
    try:
        wait_for(lambda: count(demo_engine, t.observations) >= total, 120, "every message")
        time.sleep(0.5)  # nothing more arrives: redeliveries are duplicates
        listener.send_signal(signal.SIGTERM)
        out, _ = listener.communicate(timeout=60)
    finally:
        listener.kill()
        pub.disconnect()
    assert listener.returncode == 0
    assert distinct_and_total(demo_engine) == (total, total)  # each exactly once
    counts = json.loads(out.strip().splitlines()[-1])
    assert counts["observations"] == total - stored_while_down


def test_a_broker_with_tls_and_passwords_takes_the_right_password_and_refuses_a_wrong_one(
    demo_engine: Engine, tmp_path: Path
) -> None:
    authority = Authority(tmp_path)
    server = authority.issue("broker", server=True)
    passwords = tmp_path / "passwd"
    passwords.write_text("")
    subprocess.run(["mosquitto_passwd", "-b", str(passwords), "green-feed", "s3cret-feed"],
                   check=True)  # fmt: skip
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\ncafile {authority.files.cert}\ncertfile {server.cert}\n"
        f"keyfile {server.key}\nallow_anonymous false\npassword_file {passwords}\n"
        f"log_dest none\nuser {getpass.getuser()}\n"  # it reads this test's private files
    )
    broker = subprocess.Popen([shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", str(conf)])
    good, bad = tmp_path / "good", tmp_path / "bad"
    good.write_text("s3cret-feed\n")
    bad.write_text("guess\n")
    try:
        wait_for(lambda: reachable("127.0.0.1", port), 10, "mosquitto")
        where = Broker("127.0.0.1", port, tls=True)
        sink = FeedSink(demo_engine, reporter="green", keyring=None, name="tls", fmt="mqtt")
        refused = MqttListener(sink, where, "t", username="green-feed", password_file=bad,
                               tls_ca=authority.files.cert)  # fmt: skip
        refused.start()
        assert not refused.wait_subscribed(3)  # the broker refused the password
        refused.stop()
        listener = MqttListener(sink, where, "t", username="green-feed", password_file=good,
                                tls_ca=authority.files.cert)  # fmt: skip
        sink.start()
        listener.start()
        assert listener.wait_subscribed(10)
        pub = paho.Client(CallbackAPIVersion.VERSION2)
        pub.username_pw_set("green-feed", "s3cret-feed")
        pub.tls_set(ca_certs=str(authority.files.cert))
        pub.connect("127.0.0.1", port)
        pub.loop_start()
        pub.publish("t", observation(7), qos=1).wait_for_publish(10)
        wait_for(lambda: sink.counts.observations == 1, what="the message stored")
        pub.disconnect()
        sink.stop()
        listener.stop()
    finally:
        broker.terminate()
        broker.wait(10)


def test_a_json_record_may_not_say_it_was_reported_by_another_contingent(
    demo_engine: Engine,
) -> None:
    from truceline.feeds.sink import sort

    sink = FeedSink(demo_engine, reporter="green", keyring=None, name="t")
    mine = json.loads(observation(1))
    theirs = {**json.loads(observation(2)), "reporter": "blue"}
    split = sort(sink.mission, "green", [("mqtt t 1", mine), ("mqtt t 2", theirs)])
    assert [r["reporter"] for r in split.records["observations"]] == ["green"]
    assert "reports as green, not 'blue'" in str(split.errors[0])
