"""`listen cot`: a CoT server as TAK clients expect one, over TCP, UDP and TLS.

Every connection's bytes go through its own `EventSplitter`, so a malformed event is rejected
(by the sink, logged with the client and byte offset) and the connection stays open; one UDP
datagram is one event. Events go to the `FeedSink`, which commits and assesses them.

TLS requires a client certificate signed by the centre's CA (`client_ca`), as TAK servers do:
a client without one fails the handshake and is never read. Plain TCP and UDP carry no
authentication: they are for a loopback or an isolated network, and the listener says so when
bound anywhere else. Authenticated clients (TLS, or plain TCP from the loopback) are sent the
mission's zones as CoT drawing shapes when they connect, then each new finding as a marker.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import logging
import ssl
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from truceline.domain.findings import Finding
from truceline.errors import FieldError
from truceline.feeds.sink import FeedSink, printable
from truceline.i18n.message import M
from truceline.ingest import cot, cot_writer

log = logging.getLogger("truceline.feeds")

READ_BYTES = 256 * 1024
WRITE_BUFFER_MAX = 4 * 1024 * 1024  # a client this far behind misses what is sent meanwhile
HANDSHAKE_S = 10.0
DRAIN_S = 2.0  # on stopping: how long to go on reading what clients sent already
PAUSE_S = 0.1  # a client quiet this long has no more in flight
ZONES_REDRAWN = timedelta(hours=1)  # the shapes' stale time is a day: re-drawn well before
MAX_CLIENTS = 1000  # connections at once; one more is closed at once, and logged
MAX_PER_ADDRESS = 200  # of them from one address (a gateway multiplexes its devices)
MAX_HANDSHAKES = 100  # TLS handshakes under way at once (each may take HANDSHAKE_S)
IDLE_S = 900  # a connection silent this long is closed (TAK clients reconnect by themselves)
PLAIN_WARNING = (
    "plain {what} on {host} carries no authentication: anyone who can reach it can send "
    "events signed as {reporter}'s; use it on a loopback or an isolated network, or --tls"
)


@dataclass
class TlsFiles:
    cert: Path  # the server's certificate (PEM, its chain after it)
    key: Path  # its private key (PEM)
    client_ca: Path  # the CA that signs the TAK clients' certificates (PEM)

    def context(self) -> ssl.SSLContext:
        """A server context that requires a client certificate signed by `client_ca`."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            context.load_cert_chain(self.cert, self.key)
        except (OSError, ssl.SSLError) as exc:
            raise FieldError(
                "cert",
                M(
                    "cannot load {cert} with {key}: {error}",
                    cert=self.cert,
                    key=self.key,
                    error=str(exc),
                ),
            ) from None
        try:
            context.load_verify_locations(cafile=self.client_ca)
        except (OSError, ssl.SSLError) as exc:
            raise FieldError(
                "client_ca", M("cannot load {ca}: {error}", ca=self.client_ca, error=str(exc))
            ) from None
        context.verify_mode = ssl.CERT_REQUIRED
        return context


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@dataclass
class Ports:
    """Where the listener is bound (a port 0 asked for is the one the system gave)."""

    tcp: int | None = None
    udp: int | None = None
    tls: int | None = None
    said: list[str] = field(default_factory=list)


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, sink: FeedSink) -> None:
        self.sink = sink
        self.count = 0
        self.dropped = 0  # while the committer was behind (UDP has no way to slow a sender)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.count += 1
        where = f"udp {addr[0]}:{addr[1]} datagram {self.count}"
        if self.sink.full:
            self.dropped += 1
            if self.dropped % 1000 == 1:
                log.warning("udp: %d datagram(s) dropped: the database is behind", self.dropped)
            return
        for item in cot.split_events(data):  # (it rejects what is longer than an event may be)
            self.sink.offer(where, item, None)


class _TlsGate(asyncio.Protocol):
    """A TLS connection before its handshake: nothing is read until the listener wraps it."""

    def __init__(self, listener: CotListener) -> None:
        self.listener = listener

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        if self.listener.handshaking >= MAX_HANDSHAKES:  # a flood of half-open connections
            self.listener.refused += 1
            transport.abort()
            return
        transport.pause_reading()  # the client's hello waits for the TLS layer
        task = asyncio.get_running_loop().create_task(self.listener._handshake(transport))
        self.listener._tasks.add(task)
        task.add_done_callback(self.listener._tasks.discard)


class CotListener:
    """The servers of one `listen cot`, feeding one sink."""

    def __init__(
        self,
        sink: FeedSink,
        *,
        host: str = "127.0.0.1",
        tcp: int | None = None,
        udp: int | None = None,
        tls: int | None = None,
        tls_files: TlsFiles | None = None,
    ) -> None:
        if tcp is None and udp is None and tls is None:
            raise FieldError("tcp", M("give a port to listen on: tcp, udp or tls"))
        if tls is not None and tls_files is None:
            raise FieldError("tls", M("TLS needs the server's cert and key and the clients' CA"))
        self.sink, self.host = sink, host
        self.wanted = Ports(tcp, udp, tls)
        self.ports = Ports()
        self.tls_context = tls_files.context() if tls is not None and tls_files else None
        self._clients: set[asyncio.StreamWriter] = set()
        self._servers: list[asyncio.Server] = []
        self._udp: asyncio.DatagramTransport | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clients_open = 0
        self._per_address: Counter[str] = Counter()
        self._drawn: tuple[datetime, list[bytes]] | None = None
        self._last_read = 0.0
        self.connections = 0  # clients read (a refused TLS client is never read)
        self.refused = 0  # TLS clients without a certificate of the centre's CA
        self.handshaking = 0  # TLS handshakes under way
        sink.on_findings = self._findings_from_thread

    async def start(self) -> Ports:
        self._loop = asyncio.get_running_loop()
        if not is_loopback(self.host):
            for what, port in (("TCP", self.wanted.tcp), ("UDP", self.wanted.udp)):
                if port is not None:
                    log.warning(PLAIN_WARNING.format(what=what, host=self.host,
                                                     reporter=self.sink.reporter))  # fmt: skip
        if self.wanted.tcp is not None:
            server = await asyncio.start_server(
                lambda r, w: self._serve(r, w, "tcp"), self.host, self.wanted.tcp,
                limit=READ_BYTES,
            )  # fmt: skip
            self._servers.append(server)
            self.ports.tcp = server.sockets[0].getsockname()[1]
            self.ports.said.append(f"tcp {self.host}:{self.ports.tcp}")
        if self.wanted.udp is not None:
            transport, _ = await self._loop.create_datagram_endpoint(
                lambda: _Datagrams(self.sink), local_addr=(self.host, self.wanted.udp)
            )
            self._udp = transport
            self.ports.udp = transport.get_extra_info("sockname")[1]
            self.ports.said.append(f"udp {self.host}:{self.ports.udp}")
        if self.wanted.tls is not None:  # the handshake is ours, so a refusal is logged
            server = await self._loop.create_server(
                lambda: _TlsGate(self), self.host, self.wanted.tls
            )
            self._servers.append(server)
            self.ports.tls = server.sockets[0].getsockname()[1]
            self.ports.said.append(
                M("tls {host}:{port} (client certificates)", host=self.host, port=self.ports.tls)
            )
        return self.ports

    async def close(self) -> None:
        """Stop accepting, read what the clients sent already (until they pause for a moment,
        at most `DRAIN_S`), then close every connection."""
        for server in self._servers:
            server.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DRAIN_S
        while self._clients_open and loop.time() < deadline:
            if time.monotonic() - self._last_read > PAUSE_S:
                break
            await asyncio.sleep(PAUSE_S / 2)
        if self._udp is not None:
            self._udp.close()
        for writer in list(self._clients):
            writer.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)  # each hands over what it read
        for server in self._servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()

    async def _handshake(self, transport: asyncio.Transport) -> None:
        """TLS with a client certificate signed by the centre's CA, else nothing is read (and
        the refusal is logged: asyncio's own TLS server says nothing of it)."""
        assert self.tls_context is not None and self._loop is not None
        self.handshaking += 1
        try:
            pair = await self._wrap(transport)
        finally:
            self.handshaking -= 1
        if pair is not None:
            await self._serve(*pair)

    async def _wrap(
        self, transport: asyncio.Transport
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, str, str | None] | None:
        assert self.tls_context is not None and self._loop is not None
        peer = transport.get_extra_info("peername") or ("?", 0)
        reader = asyncio.StreamReader(limit=READ_BYTES)
        protocol = asyncio.StreamReaderProtocol(reader)
        try:
            secure = await self._loop.start_tls(
                transport, protocol, self.tls_context, server_side=True,
                ssl_handshake_timeout=HANDSHAKE_S,
            )  # fmt: skip
        except (OSError, ssl.SSLError, TimeoutError, ConnectionError) as exc:
            self.refused += 1
            reason = getattr(exc, "reason", None) or type(exc).__name__
            log.warning("tls %s:%s: refused (%s): a client needs a certificate signed by the "
                        "centre's CA", peer[0], peer[1], reason)  # fmt: skip
            transport.abort()
            return None
        if secure is None:  # (the loop gives a transport, or raises: typed as optional)
            transport.abort()
            return None
        protocol.connection_made(secure)
        writer = asyncio.StreamWriter(secure, protocol, reader, self._loop)
        subject = (secure.get_extra_info("peercert") or {}).get("subject", ())
        names = [value for rdn in subject for key, value in rdn if key == "commonName"]
        who = printable(str(names[0]))[:200] if names else "a client"
        log.info("tls %s:%s: %s connected", peer[0], peer[1], who)
        return reader, writer, "tls", who if names else None

    async def _serve(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        how: str,
        device: str | None = None,
    ) -> None:
        """Read a client's events (`device`: its certificate's name, said with each)."""
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        peer = writer.get_extra_info("peername") or ("?", 0)
        where = f"{how} {peer[0]}:{peer[1]}" + (f" ({device})" if device else "")
        address = str(peer[0])
        full = self._clients_open >= MAX_CLIENTS or self._per_address[address] >= MAX_PER_ADDRESS
        if full:
            log.warning("%s: refused: %d clients connected already (%d from %s)", where,
                        self._clients_open, self._per_address[address], address)  # fmt: skip
            if task is not None:
                self._tasks.discard(task)
            writer.close()
            return
        self.connections += 1
        self._clients_open += 1
        self._per_address[address] += 1
        trusted = how == "tls" or is_loopback(str(peer[0]))
        if how != "tls":  # (a TLS client is logged with its certificate's name)
            log.info("%s: connected", where)
        splitter = cot.EventSplitter()
        try:
            if trusted:
                self._clients.add(writer)
                self._send(writer, self._zones())
            while True:
                try:
                    data = await asyncio.wait_for(reader.read(READ_BYTES), IDLE_S)
                except TimeoutError:
                    log.info("%s: silent for %d s: closed", where, IDLE_S)
                    break
                if not data:
                    break
                self._last_read = time.monotonic()
                if items := splitter.feed(data):
                    self.sink.offer_all(where, items, None)
                while self.sink.full:  # the committer is behind: wait for it
                    await asyncio.sleep(0.05)
            for item in splitter.close():
                self.sink.offer(where, item, None)
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError) as exc:
            log.info("%s: connection ended: %s", where, exc)
            for item in splitter.close():
                self.sink.offer(where, item, None)
        except asyncio.CancelledError:
            for item in splitter.close():
                self.sink.offer(where, item, None)
            raise
        finally:
            self._clients_open -= 1
            self._per_address[address] -= 1
            if self._per_address[address] <= 0:
                del self._per_address[address]
            self._clients.discard(writer)
            if task is not None:
                self._tasks.discard(task)
            writer.close()

    def _zones(self) -> list[bytes]:
        """The zones as CoT shapes, drawn once an hour (not for every connection: a client
        reconnecting in a loop does not cost a drawing each time)."""
        now = datetime.now(UTC)
        if self._drawn is None or now - self._drawn[0] > ZONES_REDRAWN:
            self._drawn = (now, cot_writer.zone_events(self.sink.mission, now=now))
        return self._drawn[1]

    @staticmethod
    def _send(writer: asyncio.StreamWriter, events: list[bytes]) -> None:
        if writer.is_closing() or writer.transport.get_write_buffer_size() > WRITE_BUFFER_MAX:
            return
        writer.write(b"".join(events))

    def _findings_from_thread(self, found: list[dict[str, Any]]) -> None:
        """In the sink's assessor thread: new findings, sent to the clients on the loop."""
        if self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop stopped meanwhile
                self._loop.call_soon_threadsafe(self._broadcast, found)

    def _broadcast(self, found: list[dict[str, Any]]) -> None:
        events = [e for e in (finding_event(self.sink.mission, f) for f in found) if e]
        if not events:
            return
        for writer in list(self._clients):
            self._send(writer, events)


def finding_event(mission: Any, finding: dict[str, Any]) -> bytes | None:
    """A finding (as the store reads it, with its `point`) as a CoT marker, or None when it has
    no point to put one at."""
    point = finding.get("point")
    if point is None:
        return None
    clause = mission.clauses.get(finding["clause"])
    title = (clause.title if clause is not None else None) or finding["clause"]
    zone = mission.zones.get(finding["zone"]) if finding["zone"] else None
    start = datetime.fromisoformat(finding["start"])
    about = str(finding["key"]).split("/", 2)[-1]
    domain = Finding(
        clause=finding["clause"], version=finding["clause_version"], rule=finding["rule"],
        zone=finding["zone"], subject=finding["subject"], start=0, end=0, about=about,
    )  # fmt: skip
    try:
        return cot_writer.finding_event(
            domain, clause_title=str(title), zone_name=None if zone is None else zone.name,
            lat=point[0], lon=point[1], when=start, now=datetime.now(UTC),
            uid=hashlib.sha256(str(finding["key"]).encode()).hexdigest()[:32],
        )  # fmt: skip
    except ValueError as exc:  # a point out of range: nothing to draw
        log.warning("finding %s: not sent to TAK clients: %s", finding["key"], exc)
        return None
