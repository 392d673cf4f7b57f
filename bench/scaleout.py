"""Scale-out: the demo on 1, 2 and 3 app hosts behind nginx (scripts/cluster), under ``wrk``.

    sudo .venv/bin/python bench/scaleout.py            # print the table
    sudo .venv/bin/python bench/scaleout.py --write    # ... and write bench/SCALEOUT.md

The script starts one cluster per layout with deploy/cluster.py (each with its
own state folder, subnet and nginx on a free 127.0.0.1 port), logs in through
each nginx, and then, round after round, drives each layout and scenario in
turn with ``wrk`` (``wrk_report.lua`` prints the summary as JSON): a short
warm-up, then the measured run. The rows are medians over the rounds. Then it
takes every cluster down by PID, as ``scripts/cluster down`` does. The layouts:

- 1, 2 and 3 hosts with server-side sessions in Redis (app3 runs uvicorn);
- 1 host with signed-cookie sessions: the same requests without the Redis
  round-trips of Flask-Session, i.e. what sharing sessions costs per request.

Every host, nginx, Redis, PostgreSQL and ``wrk`` share this machine's cores,
so more hosts cannot add CPU here: the figures show that scaling out works
and what it costs, not the gain on real machines. Needs root (``ip netns``);
only 127.0.0.1 and the cluster's own namespaces are contacted, every run is
bounded in time. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import typing as t
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
CLUSTER = REPO / "deploy" / "cluster.py"
WRK_SCRIPT = BENCH / "wrk_report.lua"
SCALEOUT = BENCH / "SCALEOUT.md"

#: (label, `cluster up` arguments)
LAYOUTS: list[tuple[str, list[str]]] = [
    ("1 host, signed-cookie sessions", ["--hosts", "1", "--sessions", "cookie"]),
    ("1 host", ["--hosts", "1"]),
    ("2 hosts", ["--hosts", "2"]),
    ("3 hosts (app3 on uvicorn)", ["--hosts", "3"]),
]

#: (label, path, logged in)
SCENARIOS: list[tuple[str, str, bool]] = [
    ("`GET /api/v1/me`, logged in (session + 1 query)", "/api/v1/me", True),
    ("`GET /` welcome page, anonymous (template, 2 counts)", "/", False),
]


def cluster_cli(state: Path, *args: str, timeout: float = 180) -> str:
    """Run deploy/cluster.py; its output, or an error with it."""
    result = subprocess.run(
        [sys.executable, str(CLUSTER), "--state", str(state), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"cluster {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def log_in(url: str) -> str:
    """alice's session cookie, got through nginx."""
    with httpx.Client(base_url=url, timeout=30) as client:
        page = client.get("/auth/login").text
        token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
        assert token, page
        data = {"csrf_token": token.group(1), "username": "alice", "password": "taskboard"}
        response = client.post("/auth/login", data=data)
        if response.status_code != 302:
            raise SystemExit(f"login failed: {response.status_code}")
        return str(client.cookies["session"])


def run_wrk(url: str, seconds: int, connections: int, cookie: str | None) -> dict[str, t.Any]:
    """One wrk run; ``wrk_report.lua``'s summary (requests, duration, p50/p99, errors)."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s"]
    command += ["-s", str(WRK_SCRIPT)]
    if cookie is not None:
        command += ["-H", f"Cookie: session={cookie}"]
    result = subprocess.run(
        [*command, url],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=False,
        env={**os.environ, "BENCH_METHOD": "GET"},
    )
    summary = re.search(r"^\{.*\}$", result.stdout, re.M)
    if result.returncode != 0 or summary is None:
        raise SystemExit(f"wrk failed:\n{result.stdout}{result.stderr}")
    return t.cast(dict[str, t.Any], json.loads(summary.group(0)))


def session_round_trip_us(state: dict[str, t.Any], sid: str, rounds: int = 2000) -> float:
    """Median time of what Flask-Session does per request: GET the session, SET it back.

    Measured from this machine's root namespace against the cluster's Redis,
    with the logged-in session's real key and value.
    """
    import redis

    info = state["redis"]
    client = redis.Redis(host=info["host"], port=info["port"], password=info["password"])
    key = f"session:{sid}"
    value = client.get(key)
    assert value is not None, key
    ttl = max(int(client.ttl(key)), 60)
    times = []
    for _ in range(rounds):
        start = time.perf_counter_ns()
        client.get(key)
        client.set(key, value, ex=ttl)
        times.append(time.perf_counter_ns() - start)
    client.close()
    times.sort()
    return times[len(times) // 2] / 1000


def measure_all(seconds: int, connections: int, rounds: int) -> list[dict[str, t.Any]]:
    """Every layout up at once, scenarios interleaved over ``rounds``; medians per row.

    The machine may be doing other work that comes and goes: running each
    layout in turn within every round (the order reversed every other round)
    spreads that over all of them instead of favouring whichever ran in a
    quiet minute.
    """
    with tempfile.TemporaryDirectory(prefix="scaleout-") as workdir:
        states = {label: Path(workdir) / f"state{i}" for i, (label, _) in enumerate(LAYOUTS)}
        try:
            clusters = {}
            for label, up_args in LAYOUTS:
                print(f"--- {label}: up", file=sys.stderr)
                cluster_cli(states[label], "up", "--port", "0", *up_args)
                cluster = json.loads((states[label] / "state.json").read_text())
                cookie = log_in(cluster["url"])
                round_trip = None
                if cluster["sessions"] == "redis":
                    round_trip = session_round_trip_us(cluster, cookie)
                    print(f"    session GET + SET in Redis: {round_trip:.0f} µs", file=sys.stderr)
                clusters[label] = (cluster["url"], cookie, round_trip)
            runs: dict[tuple[str, str], list[dict[str, t.Any]]] = {}
            for n in range(rounds):
                order = LAYOUTS if n % 2 == 0 else LAYOUTS[::-1]
                for label, _ in order:
                    url, cookie, _ = clusters[label]
                    for scenario, path, logged_in in SCENARIOS:
                        session = cookie if logged_in else None
                        run_wrk(url + path, 2, connections, session)  # warm-up
                        found = run_wrk(url + path, seconds, connections, session)
                        runs.setdefault((label, scenario), []).append(found)
                        rps = found["requests"] / (found["duration_us"] / 1e6)
                        print(f"    round {n + 1} {label}, {scenario}: {rps:.0f}", file=sys.stderr)
        finally:
            for state in states.values():
                if (state / "state.json").exists():
                    try:
                        cluster_cli(state, "down")
                    except SystemExit as e:  # take the others down all the same
                        print(e, file=sys.stderr)
    rows = []
    for label, _ in LAYOUTS:
        for scenario, _path, _logged_in in SCENARIOS:
            found = runs[(label, scenario)]
            rows.append(
                {
                    "layout": label,
                    "scenario": scenario,
                    "rps": statistics.median(
                        r["requests"] / (r["duration_us"] / 1e6) for r in found
                    ),
                    "p50_ms": statistics.median(r["p50_us"] for r in found) / 1000,
                    "p99_ms": statistics.median(r["p99_us"] for r in found) / 1000,
                    "requests": sum(r["requests"] for r in found),
                    "errors": sum(sum(r["errors"].values()) for r in found),
                    "round_trip_us": clusters[label][2],
                }
            )
    return rows


def table(rows: list[dict[str, t.Any]]) -> str:
    """The Markdown table: one line per layout and scenario."""
    lines = [
        "| Layout | Scenario | requests/s | p50 ms | p99 ms | requests | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['layout']} | {row['scenario']} | {row['rps']:.0f} | {row['p50_ms']:.1f} "
            f"| {row['p99_ms']:.1f} | {row['requests']} | {row['errors']} |"
        )
    return "\n".join(lines)


def document(
    rows: list[dict[str, t.Any]],
    seconds: int,
    connections: int,
    loads: tuple[float, float],
    rounds: int = 3,
) -> str:
    """bench/SCALEOUT.md (``loads``: the 1-minute load average before and after)."""
    by = {(r["layout"], r["scenario"]): r for r in rows}
    me = SCENARIOS[0][0]
    cookie, redis = by[(LAYOUTS[0][0], me)], by[(LAYOUTS[1][0], me)]
    cost_ms = 1000 / redis["rps"] - 1000 / cookie["rps"]
    round_trips = [r["round_trip_us"] for r in rows if r["round_trip_us"] is not None]
    round_trip = sorted(round_trips)[len(round_trips) // 2]
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return f"""# Scale-out: the demo on several hosts

Written by `sudo .venv/bin/python bench/scaleout.py --write` on {when}
({os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}).
Each layout is a fresh `scripts/cluster up` (deploy/cluster.py): app hosts in
their own network namespaces behind one nginx on 127.0.0.1, gunicorn with 2
workers per host (app3 under uvicorn with 2 workers), Redis for sessions, cache,
rate limits and Celery, PostgreSQL as the database. All four layouts are up at
once (idle but for the one under load), and each round runs every layout and
scenario in turn, the order reversed every other round: `wrk -t2 -c{connections}`
against nginx for {seconds} s after a 2 s warm-up. The figures are the medians
of {rounds} rounds ("requests" is their total); "errors" counts socket errors
and non-2xx/3xx answers. The machine's 1-minute load average was
{loads[0]:.1f} before the runs and {loads[1]:.1f} after: other work shared the
cores, so compare the rows with each other, not with other files.

{table(rows)}

Read with care: every host, nginx, Redis, PostgreSQL and `wrk` itself share the
same {os.cpu_count()} cores, so a second or third host adds processes, not CPU.
Little or no gain is expected from the hardware; what more hosts do get here is
a larger share of cores that other work also wants (more processes to
schedule), and more requests in flight at once while others wait on
PostgreSQL or Redis. On separate machines each host brings its own
cores and the throughput adds up until the shared services (PostgreSQL, Redis,
nginx) saturate. What the table does show is that the layout works under load
without errors, and what sharing state costs: with server-side sessions each
request reads the session from Redis and writes it back (Flask-Session refreshes
its expiry). Timed on its own (median of 2000 GET + SET pairs of the real
session, from the root namespace over the bridge), that is **{round_trip:.0f} µs
per request**. Against signed-cookie sessions on one host the whole request on
`/api/v1/me` went from {cookie["rps"]:.0f} to {redis["rps"]:.0f} requests/s
({cost_ms:+.2f} ms per request: the round-trips, Flask-Session's own work, and
whatever the other work on the machine added to that run). The anonymous
page also stores a session in Redis, because its form's CSRF token lives in
the session.
"""


def main() -> int:
    """Run every layout, print the table, write SCALEOUT.md with ``--write``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=6, help="per measured run (default 6)")
    parser.add_argument("--rounds", type=int, default=3, help="runs per row (default 3)")
    parser.add_argument("--connections", type=int, default=16, help="wrk -c (default 16)")
    parser.add_argument("--write", action="store_true", help=f"write {SCALEOUT.name}")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root: the cluster's network namespaces (ip netns)")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")
    load_before = os.getloadavg()[0]
    rows = measure_all(args.seconds, args.connections, args.rounds)
    print(table(rows))
    if args.write:
        loads = (load_before, os.getloadavg()[0])
        text = document(rows, args.seconds, args.connections, loads, args.rounds)
        SCALEOUT.write_text(text)
        print(f"wrote {SCALEOUT.relative_to(REPO)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
