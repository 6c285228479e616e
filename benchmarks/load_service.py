"""Load test of ``dongne serve``: many concurrent clients, a realistic mix, every status counted.

Starts the service (``python -m dongne.cli serve``) on a free loopback port with SQLite in a
temporary folder, or on PostgreSQL with ``--database-url postgresql://...``, creates an
administrator and a workspace, uploads the bundled Seoul gu boundaries and indicators, then
for each level of concurrency (default 50, 200 and 500 clients) drives at once:

* ``--reads`` requests per client, each one of ``GET /me``, ``GET /datasets/{id}`` (dataset
  metadata) and ``GET /workspaces/city/datasets``, in turn;
* ``--uploads`` uploads of a fresh CSV of ``--upload-mb`` MiB, each downloaded back (asked
  again after ``Retry-After`` while the answer is 503) and compared byte for byte
  (``stored`` or ``corrupted``), or refused with a 4xx (``refused``) or 503 (``busy``);
* ``--runs`` LISA runs (99 permutations) on the 25 gu, each polled until it ends; a run still
  ``queued`` or ``running`` after ``--run-timeout`` seconds is ``stuck``.

It prints, per level, the throughput of the reads, p50/p99 latency per kind of request and the
count of answers per status (``503`` is the admission limit's answer to overload; a 503 must
carry ``Retry-After``). Run ``python benchmarks/load_service.py --help``; the numbers measured
on the development machine are in docs/service.md. ``tests/test_service_load.py`` runs a short
version (:func:`drive`) in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

from dongne.datasets import data_path

GU = data_path("seoul_gu_2013.geojson")
GU_TABLE = data_path("seoul_gu_indicators.csv")
WORKSPACE = "city"


@dataclass
class Tally:
    """Latencies (seconds) and statuses of the answers, per kind of request."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter = field(default_factory=Counter)
    busy_latencies: list[float] = field(default_factory=list)
    busy_without_retry_after: int = 0
    busy_reasons: Counter = field(default_factory=Counter)
    retried: int = 0
    retried_because: Counter = field(default_factory=Counter)
    transport_errors: Counter = field(default_factory=Counter)
    uploads: Counter = field(default_factory=Counter)
    runs: Counter = field(default_factory=Counter)
    reads_seconds: float = float("nan")

    async def call(
        self, kind: str, client: httpx.AsyncClient, method: str, url: str, again=True, **kw
    ):
        """Send one request; record its latency and status; ``None`` on a transport error."""
        start = time.perf_counter()
        try:
            response = await client.request(method, url, **kw)
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            # a kept-alive connection the server closed as the request went out: like browsers
            # and urllib3 (RFC 9112, 9.3.1), send an idempotent request again, once, counted
            if method != "GET" or not again:
                self.transport_errors[type(exc).__name__] += 1
                return None
            self.retried += 1
            return await self.call(kind, client, method, url, again=False, **kw)
        except httpx.TransportError as exc:
            self.transport_errors[type(exc).__name__] += 1
            return None
        self.record(
            kind, time.perf_counter() - start, response.status_code, response.headers,
            response.content,
        )  # fmt: skip
        return response

    def record(self, kind: str, seconds: float, status: int, headers, body: bytes) -> None:
        """Count one answer: its latency, its status and, for a 503, Retry-After and why."""
        self.latencies[kind].append(seconds)
        self.statuses[status] += 1
        if status == 503:
            self.busy_latencies.append(seconds)
            if "retry-after" not in headers:
                self.busy_without_retry_after += 1
            self.busy_reasons[_busy_reason(body)] += 1

    @property
    def server_errors(self) -> int:
        """Answers with a 5xx status other than 503 (the admission limit's)."""
        return sum(n for status, n in self.statuses.items() if status >= 500 and status != 503)

    def report(self, seconds: float) -> str:
        """Throughput, p50/p99 latency per kind and the count of each status, as text.

        ``seconds`` is the whole level (until the last run ended); the read throughput is
        over the time until the last reader finished (``reads_seconds``).
        """
        reads = sum(len(v) for k, v in self.latencies.items() if k in _READS)
        lines = [f"  level done in {seconds:.1f} s"]
        if reads:
            lines[0] += (
                f"; {reads} reads in {self.reads_seconds:.1f} s: "
                f"{reads / self.reads_seconds:.0f} reads/s"
            )
        for kind, values in sorted(self.latencies.items()):
            p50, p99 = np.percentile(values, [50, 99])
            lines.append(
                f"  {kind:<10} n={len(values):>6}  p50={p50 * 1000:7.0f} ms  "
                f"p99={p99 * 1000:7.0f} ms  max={max(values) * 1000:7.0f} ms"
            )
        counts = ", ".join(f"{s}: {n}" for s, n in sorted(self.statuses.items()))
        lines.append(f"  statuses: {counts}")
        if self.busy_latencies:
            p50, p99 = np.percentile(self.busy_latencies, [50, 99])
            lines.append(f"  503 answers: p50={p50 * 1000:.0f} ms  p99={p99 * 1000:.0f} ms")
        if self.busy_reasons:
            lines.append(f"  503 because: {dict(self.busy_reasons)}")
        if self.busy_without_retry_after:
            lines.append(f"  503 without Retry-After: {self.busy_without_retry_after}")
        if self.retried:
            lines.append(
                f"  GET sent again on a fresh connection: {self.retried} "
                f"{dict(self.retried_because)}"
            )
        if self.transport_errors:
            lines.append(f"  transport errors: {dict(self.transport_errors)}")
        if self.uploads:
            lines.append(f"  uploads: {dict(self.uploads)}")
        if self.runs:
            lines.append(f"  runs: {dict(self.runs)}")
        return "\n".join(lines)


_READS = ("me", "metadata", "list")


def _busy_reason(body: bytes) -> str:
    """The reason in a 503's detail, "The service is busy (REASON). Fix: ...", without its
    numbers ("no place free in 10 s; 40 requests are being served" -> "no place free in")."""
    try:
        detail = json.loads(body)["detail"]
    except (ValueError, KeyError, TypeError):
        return "unreadable"
    reason = detail.partition("(")[2].partition(")")[0]
    return " ".join(w for w in reason.split(";")[0].split() if not w[0].isdigit())[:60]


class Connection:
    """One client's kept-alive HTTP/1.1 connection, for GET requests only.

    The readers use this instead of httpx: httpx's pool looks at every open connection on
    each request and spends more processor time per request than the service does, so with
    hundreds of clients the driver, not the service, was measured. The answer's status line,
    headers and ``Content-Length`` body are read as RFC 9112 describes; a connection the
    server closes is opened again (counted in ``Tally.retried``).
    """

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port = host, port
        self.head = f"Host: {host}:{port}\r\nAuthorization: Bearer {token}\r\n\r\n"
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        """Status, headers (lower-case names) and body of ``GET path``."""
        if self.streams is None:
            self.streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.streams
        writer.write(f"GET {path} HTTP/1.1\r\n{self.head}".encode("latin-1"))
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        headers = {}
        for line in head[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", 0)))
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, headers, body

    async def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


async def _reader(base: str, token: str, tally: Tally, dataset_id: int, n: int) -> None:
    targets = (
        ("me", "/me"),
        ("metadata", f"/datasets/{dataset_id}"),
        ("list", f"/workspaces/{WORKSPACE}/datasets"),
    )
    url = httpx.URL(base)
    connection = Connection(url.host, url.port, token)
    try:
        for i in range(n):
            kind, path = targets[i % len(targets)]
            start = time.perf_counter()
            try:
                status, headers, body = await connection.get(path)
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                # a kept-alive connection the server closed as the request went out: like
                # browsers (RFC 9112, 9.3.1), send the GET again once on a new connection
                await connection.close()
                tally.retried += 1
                tally.retried_because[type(exc).__name__] += 1
                try:
                    status, headers, body = await connection.get(path)
                except (OSError, asyncio.IncompleteReadError) as exc:
                    tally.transport_errors[type(exc).__name__] += 1
                    await connection.close()
                    continue
            tally.record(kind, time.perf_counter() - start, status, headers, body)
    finally:
        await connection.close()


def upload_bytes(index: int, megabytes: float) -> bytes:
    """A CSV table (``gu_code,value``) of about ``megabytes`` MiB, different for each ``index``."""
    rng = np.random.default_rng(index)
    rows = max(25, int(megabytes * 1024**2 / 24))
    codes = 11000 + np.arange(rows)
    values = rng.normal(size=rows)
    lines = [f"{c},{v:.15f}" for c, v in zip(codes, values, strict=True)]
    return ("gu_code,value\n" + "\n".join(lines) + "\n").encode("ascii")


async def _uploader(client: httpx.AsyncClient, tally: Tally, index: int, payload: bytes) -> None:
    r = await tally.call(
        "upload", client, "POST", f"/workspaces/{WORKSPACE}/datasets",
        params={"kind": "table", "filename": f"load-{index}.csv"}, content=payload,
        headers={"Content-Type": "application/octet-stream"},
    )  # fmt: skip
    if r is None or (r.status_code >= 500 and r.status_code != 503):
        tally.uploads["failed"] += 1
        return
    if r.status_code == 503:
        tally.uploads["busy (503)"] += 1
        return
    if r.status_code != 201:
        tally.uploads["refused"] += 1
        return
    for _ in range(10):  # a busy service answers 503 with Retry-After: wait and ask again
        back = await tally.call("download", client, "GET", f"/datasets/{r.json()['id']}/download")
        if back is None or back.status_code != 503:
            break
        await asyncio.sleep(float(back.headers.get("retry-after", 1)))
    if back is None or back.status_code != 200:
        tally.uploads[f"stored, download answered {back.status_code if back else 'nothing'}"] += 1
        return
    tally.uploads["stored" if back.content == payload else "corrupted"] += 1


async def _runner(
    client: httpx.AsyncClient, tally: Tally, areas: int, table: int, timeout: float
) -> None:
    body = {
        "analysis": "detect", "areas": areas, "table": table, "id_column": "gu_code",
        "variable": "basement_household_pct_2015", "methods": ["lisa"], "permutations": 99,
        "seed": 7,
    }  # fmt: skip
    r = await tally.call("run", client, "POST", f"/workspaces/{WORKSPACE}/runs", json=body)
    if r is None or r.status_code != 202:
        tally.runs[f"not started ({r.status_code if r is not None else 'no answer'})"] += 1
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        s = await tally.call("run-poll", client, "GET", f"/runs/{r.json()['id']}")
        if s is not None and s.status_code == 200 and s.json()["status"] not in (
            "queued",
            "running",
        ):
            tally.runs[s.json()["status"]] += 1
            return
    tally.runs["stuck"] += 1


async def drive(
    base: str,
    token: str | list[str],
    *,
    clients: int,
    reads: int,
    uploads: int,
    runs: int,
    upload_mb: float = 0.05,
    run_timeout: float = 120,
) -> tuple[Tally, float]:
    """Drive one level of load against the service at ``base``; the tally and its duration.

    ``clients`` readers each send ``reads`` requests one after another on a connection of
    their own, while ``uploads`` uploads and ``runs`` LISA runs go on beside them (each on
    its own connection). The
    bundled gu boundaries and indicators are uploaded first (not counted). ``token`` may be
    a list: reader ``i`` then signs in with ``token[i % len(token)]`` (one user per office),
    the uploads and runs with the first.
    """
    tokens = [token] if isinstance(token, str) else token
    headers = {"Authorization": f"Bearer {tokens[0]}"}
    # idle connections are dropped after 2 s, before uvicorn closes them (after 5 s): a request
    # sent on a connection the server is closing would fail without reaching the service
    limits = httpx.Limits(
        max_connections=uploads + runs + 4,
        max_keepalive_connections=None,
        keepalive_expiry=2,
    )
    async with httpx.AsyncClient(
        base_url=base, headers=headers, timeout=120, limits=limits
    ) as client:
        ids = {}
        for kind, path in (("areas", GU), ("table", GU_TABLE)):
            r = await client.post(
                f"/workspaces/{WORKSPACE}/datasets",
                params={"kind": kind, "filename": path.name},
                content=path.read_bytes(),
                headers={"Content-Type": "application/octet-stream"},
            )
            r.raise_for_status()
            ids[kind] = r.json()["id"]
        # made before the clock starts: formatting 50 tables of 10 MiB takes the driver
        # seconds of processor time, which would block its event loop (and every request's
        # clock) in the middle of the level
        payloads = [upload_bytes(i, upload_mb) for i in range(uploads)]
        tally = Tally()
        start = time.perf_counter()

        async def readers() -> None:
            await asyncio.gather(
                *(
                    _reader(base, tokens[i % len(tokens)], tally, ids["table"], reads)
                    for i in range(clients)
                )
            )
            tally.reads_seconds = time.perf_counter() - start

        await asyncio.gather(
            readers(),
            *(_uploader(client, tally, i, payload) for i, payload in enumerate(payloads)),
            *(_runner(client, tally, ids["areas"], ids["table"], run_timeout) for _ in range(runs)),
        )
        return tally, time.perf_counter() - start


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def service(
    data: Path,
    database_url: str | None = None,
    env: dict[str, str] | None = None,
    users: int = 1,
) -> Iterator[tuple[str, list[str], int]]:
    """``dongne serve`` on a free loopback port with ``data`` as its folder: base URL, tokens
    and the server's process id.

    An administrator owning the workspace ``city`` is created first, then ``users - 1``
    editors of ``city`` (invited and accepted through the API); the tokens are the
    administrator's first. The server's log is ``server.log`` beside ``data``.
    """
    from dongne.service import Settings, create_user

    settings = Settings(data_dir=data, database_url=database_url)
    token = create_user(settings, "admin", workspace=WORKSPACE).token
    port = _free_port()
    command = [sys.executable, "-m", "dongne.cli", "serve", "--host", "127.0.0.1", "--port",
               str(port), "--data-dir", str(data)]  # fmt: skip
    if database_url:
        command += ["--database-url", database_url]
    log_path = data.parent / "server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=log, env={**os.environ, **(env or {})}
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("server did not start:\n" + log_path.read_text())
            time.sleep(0.2)
        try:
            yield base, [token, *_members(base, token, users - 1)], process.pid
        finally:
            process.terminate()
            process.wait(30)


def _run(coroutine):
    """Run ``coroutine`` on uvloop where it is installed (as uvicorn does), else asyncio."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)


def cpu_seconds(pid: int) -> float:
    """Processor time (user + system, seconds) the process ``pid`` used so far (Linux).

    The latencies above depend on what else the machine runs; the server's processor time
    per answer does much less, and bounds the answers per second one core can give.
    """
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """:func:`cpu_seconds` of ``pid`` and every process below it (the upload readers, the
    analysis workers) that is alive now (Linux)."""
    children: dict[int, list[int]] = defaultdict(list)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children[int(fields[1])].append(int(stat.parent.name))
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            total += cpu_seconds(p)
        except OSError:
            continue
        todo += children.get(p, [])
    return total


def _members(base: str, token: str, n: int) -> list[str]:
    """Tokens of ``n`` new editors of the workspace, made as an administrator would."""
    tokens = []
    with httpx.Client(base_url=base, timeout=60) as client:
        admin = {"Authorization": f"Bearer {token}"}
        for i in range(n):
            r = client.post("/users", json={"name": f"office{i}"}, headers=admin)
            r.raise_for_status()
            tokens.append(r.json()["token"])
            client.put(f"/workspaces/{WORKSPACE}/members/office{i}", json={"role": "editor"},
                       headers=admin).raise_for_status()  # fmt: skip
            member = {"Authorization": f"Bearer {tokens[-1]}"}
            client.post(f"/me/invitations/{WORKSPACE}/accept", headers=member).raise_for_status()
    return tokens


def main(argv: list[str] | None = None) -> int:
    """Run the load test; print one block per level of concurrency."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="PostgreSQL URL of an empty database "
                        "(default: SQLite in a temporary folder)")  # fmt: skip
    parser.add_argument("--clients", default="50,200,500", help="levels (default %(default)s)")
    parser.add_argument("--users", type=int, default=25, help="users the clients sign in as, "
                        "one per office (%(default)s)")  # fmt: skip
    parser.add_argument("--reads", type=int, default=20, help="reads per client (%(default)s)")
    parser.add_argument("--uploads", type=int, default=20, help="uploads per level (%(default)s)")
    parser.add_argument("--upload-mb", type=float, default=1.0, help="MiB each (%(default)s)")
    parser.add_argument("--runs", type=int, default=5, help="LISA runs per level (%(default)s)")
    parser.add_argument("--run-timeout", type=float, default=180, help="stuck after (s)")
    parser.add_argument("--max-requests", type=int, help="the server's admission limit")
    parser.add_argument("--max-queued", type=int, help="the server's queue (503 beyond it)")
    args = parser.parse_args(argv)
    env = {
        name: str(value)
        for name, value in (
            ("DONGNE_MAX_REQUESTS", args.max_requests),
            ("DONGNE_MAX_QUEUED", args.max_queued),
        )
        if value is not None
    }
    with tempfile.TemporaryDirectory(prefix="dongne-load-") as tmp:
        with service(Path(tmp) / "data", args.database_url, env, args.users) as (
            base, tokens, pid,
        ):  # fmt: skip
            database = "PostgreSQL" if args.database_url else "SQLite"
            for clients in (int(c) for c in args.clients.split(",")):
                load = drive(
                    base, tokens, clients=clients, reads=args.reads, uploads=args.uploads,
                    runs=args.runs, upload_mb=args.upload_mb, run_timeout=args.run_timeout,
                )  # fmt: skip
                cpu, load_before = cpu_seconds(pid), os.getloadavg()[0]
                tree = tree_cpu_seconds(pid)
                tally, seconds = _run(load)
                cpu, load_after = cpu_seconds(pid) - cpu, os.getloadavg()[0]
                tree = tree_cpu_seconds(pid) - tree
                print(f"{database}, {clients} concurrent readers as {len(tokens)} users, "
                      f"{args.uploads} uploads of {args.upload_mb:g} MiB, {args.runs} LISA "
                      "runs:")  # fmt: skip
                print(tally.report(seconds))
                answers = sum(tally.statuses.values())
                print(f"  server process: {cpu:.1f} s of CPU for {answers} answers, "
                      f"{cpu / answers * 1000:.2f} ms each; with its reader and worker "
                      f"processes {tree:.1f} s; machine load average {load_before:.1f} -> "
                      f"{load_after:.1f} on {os.cpu_count()} cores", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
