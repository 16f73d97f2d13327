"""Benchmark: a campaign's status, the cookbook's way and cmrunbook's way, as whole processes.

For N = 1,000, 10,000 and 50,000 scripts in the service (sandbox on PostgreSQL, ``scale:N``
scenario, one campaign holding about a third of the scripts), each method runs as its own
process several times; the table reports median wall time and median peak memory (RSS summed
over the process and its children, e.g. the notebook kernel), and the ratios in the same run:

(a) the cookbook: page ``/script/list`` 100 rows at a time and keep the campaign's scripts by
    fullname prefix, as ``cm-client script list -o json | jq -rf step_status.jq`` does;
(b) cmrunbook's fetch: get-by-fullname then ``all_scripts``, into the scripts table; also timed
    for the smallest campaign, to show the cost follows the campaign, not the service;
(c) the whole ``cmrunbook run campaign_status`` (papermill, kernel, report.html, summary.json).

Run it with ``make bench``; it writes ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).parent
SIZES = (1_000, 10_000, 50_000)
REPEATS = 5
CMRUNBOOK = [sys.executable, "-m", "cmrunbook"]


# -- the measured programs (run in their own processes) -------------------------------------


def cookbook_fetch(url: str, campaign: str) -> int:
    """Method (a): every script of every campaign, 100 per page, filtered by fullname prefix."""
    import httpx

    from cmrunbook.models import Script

    prefix = campaign + "/"
    kept = []
    with httpx.Client(base_url=url + "/", timeout=300) as http:
        skip = 0
        while page := http.get("script/list", params={"skip": skip}).json():
            skip += len(page)
            kept.extend(Script.model_validate(row) for row in page if row["fullname"].startswith(prefix))
    lines = [f"{s.id} {s.status.name} {s.fullname.rsplit('/', 1)[-1]}" for s in kept]
    print("\n".join(lines), file=open(os.devnull, "w"))  # noqa: SIM115 - jq prints them
    return len(kept)


def cmrunbook_fetch(url: str, campaign: str) -> int:
    """Method (b): the campaign, then its scripts in one request, into the table."""
    from cmrunbook import views
    from cmrunbook.client import CMClient
    from cmrunbook.config import Settings

    with CMClient(Settings(service_url=url, timeout=300)) as client:
        _, scripts = views.fetch_campaign_scripts(client, campaign)
    return len(views.scripts_table(scripts))


# -- measuring whole processes -------------------------------------------------------------


def tree_rss_bytes(root: int) -> int:
    """Resident memory of ``root`` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            rss[int(entry.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            continue
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


@dataclass(frozen=True)
class Sample:
    seconds: float
    peak_mb: float


def measure(command: list[str], env: dict[str, str]) -> Sample:
    """Wall time and peak resident memory (whole process tree) of one run of ``command``."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, tree_rss_bytes(process.pid))
            stop.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    elapsed = time.perf_counter() - started
    stop.set()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{stderr.decode()[-2000:]}")
    return Sample(elapsed, peak / 2**20)


def median(samples: list[Sample]) -> Sample:
    return Sample(
        statistics.median(s.seconds for s in samples), statistics.median(s.peak_mb for s in samples)
    )


# -- the benchmark --------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    n: int
    campaign_scripts: int
    small_scripts: int
    cookbook: Sample
    fetch: Sample
    fetch_small: Sample
    run: Sample


def campaigns(url: str) -> tuple[str, str, int, int]:
    """The biggest and the smallest campaign of the scenario, and their sizes."""
    from cmrunbook.client import CMClient
    from cmrunbook.config import Settings

    with CMClient(Settings(service_url=url, timeout=300)) as client:
        sizes = {c.fullname: len(client.campaign.script_summaries(c.id)) for c in client.campaign.list()}
    ordered = sorted(sizes, key=sizes.__getitem__)
    return ordered[-1], ordered[0], sizes[ordered[-1]], sizes[ordered[0]]


def start_sandbox(n: int, db_url: str, port: int) -> subprocess.Popen[bytes]:
    import httpx

    process = subprocess.Popen(
        [*CMRUNBOOK, "sandbox", "--scenario", f"scale:{n}", "--db", db_url, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the sandbox with scale:{n} did not start")


def bench_size(n: int, db_url: str, repeats: int, workdir: Path) -> Row:
    from cmrunbook.sandbox.pgserver import free_port

    port = free_port()
    sandbox = start_sandbox(n, db_url, port)
    try:
        url = f"http://127.0.0.1:{port}/cm-service/v1"
        env = {**os.environ, "CM_SERVICE": url, "CM_TIMEOUT": "300"}
        big, small, size, small_size = campaigns(url)
        me = [sys.executable, str(Path(__file__).resolve())]
        runs = workdir / f"runs-{n}"
        commands = {
            "cookbook": [*me, "--measure", "cookbook", url, big],
            "fetch": [*me, "--measure", "fetch", url, big],
            "fetch_small": [*me, "--measure", "fetch", url, small],
            "run": [
                *CMRUNBOOK,
                "run",
                "campaign_status",
                "-p",
                "campaign",
                big,
                "--output-dir",
                str(runs),
            ],
        }
        results = {
            name: median([measure(cmd, env) for _ in range(repeats)]) for name, cmd in commands.items()
        }
        return Row(n, size, small_size, **results)
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)


def write_results(rows: list[Row], repeats: int, path: Path) -> None:
    lines = [
        "# Campaign status at scale",
        "",
        f"Written by `bench/status_scale.py` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC "
        f"(`make bench`): medians of {repeats} runs of each whole process, sandbox on PostgreSQL "
        "with the `scale:N` scenario. Peak memory is the resident memory of the process and its "
        "children (the notebook kernel for (c)).",
        "",
        "| N scripts | campaign scripts | (a) cookbook s | (b) cmrunbook fetch s "
        "| (b) smallest campaign s (scripts) | (c) cmrunbook run s | a / b | c − b s "
        "| peak MB (a) | peak MB (b) | peak MB (c) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.n:,} | {r.campaign_scripts:,} | {r.cookbook.seconds:.2f} | {r.fetch.seconds:.2f} "
            f"| {r.fetch_small.seconds:.2f} ({r.small_scripts:,}) | {r.run.seconds:.2f} "
            f"| {r.cookbook.seconds / r.fetch.seconds:.1f}× | {r.run.seconds - r.fetch.seconds:.2f} "
            f"| {r.cookbook.peak_mb:.0f} | {r.fetch.peak_mb:.0f} | {r.run.peak_mb:.0f} |"
        )
    largest = rows[-1]
    reference = rows[-2] if len(rows) > 1 else largest
    checks = [
        (
            f"(b) at least 5× faster than (a) at {largest.n:,} scripts",
            largest.cookbook.seconds / largest.fetch.seconds >= 5,
        ),
        (
            f"(b) follows the campaign, not the service: the smallest campaign at {reference.n:,} "
            f"and at {largest.n:,} scripts ({reference.small_scripts:,} and "
            f"{largest.small_scripts:,} scripts) take {reference.fetch_small.seconds:.2f} s and "
            f"{largest.fetch_small.seconds:.2f} s",
            largest.fetch_small.seconds / reference.fetch_small.seconds
            <= 1.25 * largest.small_scripts / reference.small_scripts,
        ),
        (
            f"(c) no more than 1.5 s above (b) at {largest.n:,}",
            largest.run.seconds - largest.fetch.seconds <= 1.5,
        ),
        (f"(c) peak memory under 250 MB at {largest.n:,}", largest.run.peak_mb < 250),
    ]
    lines += ["", "Targets:", ""]
    lines += [f"- [{'x' if ok else ' '}] {text}" for text, ok in checks]
    path.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measure", nargs=3, metavar=("METHOD", "URL", "CAMPAIGN"))
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--output", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args()
    if args.measure:
        method, url, campaign = args.measure
        (cookbook_fetch if method == "cookbook" else cmrunbook_fetch)(url, campaign)
        return 0

    import psycopg

    from cmrunbook.sandbox.pgserver import TemporaryPostgres

    rows = []
    with TemporaryPostgres() as pg, tempfile.TemporaryDirectory(prefix="cmrunbook-bench-") as tmp:
        for n in args.sizes:
            database = f"bench_{n}"
            with psycopg.connect(pg.url().replace("+psycopg", ""), autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{database}"')
            rows.append(bench_size(n, pg.url(database), args.repeats, Path(tmp)))
            print(f"N={n:,} done", file=sys.stderr)
    write_results(rows, args.repeats, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
