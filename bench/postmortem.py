"""Post-mortem benchmark: report time and peak memory for 1,000, 100,000 and 1,000,000 audit events
(targets: < 2 s for 100,000; < 20 s and < 300 MB peak RSS for 1,000,000). Not a test:
`.venv/bin/python bench/postmortem.py [--sizes ...]`; writes bench/results/postmortem.json. Trails are
written in bulk with the real hash chain: a DiGiorno-like incident whose bulk is individual replies.
Each build runs in a fresh child process, so its peak resident memory (os.wait4's rusage of that
child, imports included) is the build's own; writing the fixture is neither timed nor counted.
`--cli` also runs the real `runbook postmortem` once per format.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from runbook import audit
from runbook.audit import verify_apart
from runbook.audit.chain import GENESIS_HASH, canonical_json, canonical_row, digest
from runbook.db import dispose_engines, init_db, make_engine, write_transaction
from runbook.postmortem import build_report, render, write_json

T0 = datetime(2014, 9, 8, 20, 15, tzinfo=UTC)
_events = audit.AuditEvent.__table__


def _trail(n: int) -> Iterator[tuple[float, str, str, str | None, dict[str, Any]]]:
    """(offset s, actor, action, step, details) for an incident of about `n` events, generated
    lazily (the writer never holds the million rows)."""
    head: list[tuple[float, str, str, str | None, dict[str, Any]]] = [
        (
            0,
            "sam",
            "incident.started",
            None,
            {
                "playbook": "hashtag-misuse",
                "version": 1,
                "title": "bench",
                "steps": ["freeze", "statement", "publish", "replies", "thaw"],
            },
        ),
        (1, "sam", "freeze.created", "freeze", {"freeze": "f", "frozen": 3, "posts": ["a", "b", "c"]}),
        (2, "system", "signoff.requested", "statement", {"quorum": 2, "signers": ["ana", "lena"]}),
        (600, "lena", "signoff.approved", "statement", {"fields": {"text": "We are sorry."}}),
        (900, "ana", "signoff.approved", "statement", {"fields": {}}),
        (900, "system", "signoff.granted", "statement", {"approvers": ["lena", "ana"], "fields": {}}),
        (1000, "system", "statement.published", "publish", {"platforms": ["x"]}),
        (1001, "system", "step.started", "replies", {"uses": "reply_individually"}),
    ]
    people = max((n - len(head) - 4) // 2, 1)
    yield from head
    for start in range(0, people, 1000):
        chunk = range(start, min(start + 1000, people))
        yield (
            1002,
            "system",
            "replies.planned",
            "replies",
            {
                "people": [
                    {"person": f"u{i}", "mentioned_at": (T0 + timedelta(seconds=i % 900)).isoformat()} for i in chunk
                ]
            },
        )
    for i in range(people):
        at = 1010 + i * 0.05
        yield (at, "system", "reply.drafted", "replies", {"person": f"u{i}"})
        yield (at + 0.01, "system", "reply.sent", "replies", {"person": f"u{i}", "ref": f"x:{i}"})
    tail = [
        (1010 + people * 0.05 + 1, "system", "step.finished", "replies", {"outputs": {}}),
        (1010 + people * 0.05 + 2, "ana", "thaw.applied", "thaw", {"outcomes": {"released": 3}}),
        (1010 + people * 0.05 + 3, "system", "incident.completed", None, {"outcome": "completed"}),
    ]
    yield from tail


def write_trail(engine, incident_id: str, n: int) -> int:  # noqa: ANN001
    """Hash and insert the trail in batches: the generator never holds the million rows."""
    prev, batch, count = GENESIS_HASH, [], 0
    for seq, (offset, actor, action, step, details) in enumerate(_trail(n), start=1):
        ts = T0 + timedelta(seconds=offset)
        channel = "flow" if actor == "system" else "slack"
        row = {
            "incident_id": incident_id,
            "seq": seq,
            "ts": ts,
            "actor": actor,
            "channel": channel,
            "action": action,
            "step": step,
            "prev_hash": prev,
        }
        row["hash"] = prev = digest(canonical_row(**row, details_json=canonical_json(details)))
        row["details"] = details
        batch.append(row)
        count += 1
        if len(batch) == 20_000:
            write_transaction(engine, lambda c, rows=batch: c.execute(_events.insert(), rows))
            batch = []
    if batch:
        write_transaction(engine, lambda c, rows=batch: c.execute(_events.insert(), rows))
    return count


TARGETS = {"report_s_for_100k": 2.0, "report_s_for_1m": 20.0, "peak_rss_mb_for_1m": 300.0}


def peak_rss_mb() -> float:
    """This process's own peak resident memory (VmHWM). Not ru_maxrss: a child's ru_maxrss starts
    from its parent's high-water mark at fork, so it would count the fixture writer too."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


# The real CLI in a child, reporting its own peak memory as it exits (the command exits through
# SystemExit, so atexit is where the whole run, imports to last write, has been seen).
_CLI = (
    "import atexit, sys; from bench.postmortem import peak_rss_mb; "
    "atexit.register(lambda: print(f'PEAK {peak_rss_mb()}', file=sys.stderr)); "
    "from runbook.cli.main import main; sys.argv = ['runbook'] + sys.argv[1:]; main()"
)


def _child(args: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run `args` as a child process: (wall seconds, its peak RSS in MB as it reported it, stdout)."""
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, env=env, cwd=Path(__file__).parents[1])
    wall = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"{args} failed ({done.returncode}): {done.stderr[-2000:]}")
    peak = next(float(line.split()[1]) for line in reversed(done.stderr.splitlines()) if line.startswith("PEAK "))
    return wall, peak, done.stdout


def measure(url: str, n: int, repeat: int = 3, cli: bool = False) -> dict[str, float]:
    engine = make_engine(url)
    init_db(engine)
    incident = audit.create_incident(
        engine, playbook_id="hashtag-misuse", playbook_version=1, inputs={}, requester="sam", title=f"bench {n}", now=T0
    )
    count = write_trail(engine, incident.id, n)  # not timed: the fixture
    dispose_engines()
    # A fresh process builds the report, as the CLI does: its peak RSS is the build's alone.
    _, rss, out = _child([sys.executable, __file__, "--build", url, incident.id, "--repeat", str(repeat)])
    result = {"events": count, **json.loads(out.strip().splitlines()[-1]), "peak_rss_mb": rss}
    if cli:  # the real command, one process per format, as a user runs it
        env = {**os.environ, "RUNBOOK_DATABASE_URL": url}
        with tempfile.TemporaryDirectory() as folder:
            for fmt in ("md", "html", "json"):
                target = Path(folder) / f"report.{fmt}"
                wall, rss, _ = _child(
                    [sys.executable, "-c", _CLI, "postmortem", incident.id, "-f", fmt, "-o", str(target)], env
                )
                result[f"cli_{fmt}_s"], result[f"cli_{fmt}_peak_rss_mb"] = wall, rss
                result[f"cli_{fmt}_mb"] = target.stat().st_size / 1e6
    return result


def build_once(url: str, incident_id: str, repeat: int) -> dict[str, float]:
    """In the child: build (best of `repeat`), then write md, html and json to files as the CLI
    does; `total_s` is one build plus the three writes."""
    engine = make_engine(url)
    out: dict[str, float] = {}
    times, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        report = build_report(engine, incident_id)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    # Best of `repeat`, and CPU time beside wall time: on a shared machine the wall clock also
    # measures the neighbours.
    out["report_s"], out["report_worst_s"], out["report_cpu_s"] = min(times), max(times), min(cpu)
    assert report.state == "final", report.notices
    written = 0.0
    with tempfile.TemporaryDirectory() as folder:
        for fmt in ("md", "html", "json"):
            target = Path(folder) / f"report.{fmt}"
            start = time.perf_counter()
            with target.open("w", encoding="utf-8") as file:
                if fmt == "json":
                    write_json(report, file)
                else:
                    file.write(render(report, fmt))
            out[f"{fmt}_s"] = time.perf_counter() - start
            out[f"{fmt}_mb"] = target.stat().st_size / 1e6
            written += out[f"{fmt}_s"]
    out["total_s"] = out["report_s"] + written
    out["total_cpu_s"] = time.process_time()  # the whole child: imports, builds and writes
    out["timeline_lines"] = len(report.timeline_summary)
    # From APART_FROM rows the chain is verified in a second process: its memory counts too.
    out["verifier_peak_rss_mb"] = verify_apart.last_peak_rss_mb
    print(f"PEAK {peak_rss_mb()}", file=sys.stderr)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Post-mortem report time and peak memory for incidents of growing size."
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000, 1_000_000])
    parser.add_argument("--cli", action="store_true", help="also time the real `runbook postmortem` per format")
    parser.add_argument("--build", nargs=2, metavar=("URL", "INCIDENT"), help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        print(json.dumps(build_once(*args.build, args.repeat)))
        return
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for n in args.sizes:
            url = f"sqlite:///{Path(folder) / f'bench-{n}.db'}"
            r = measure(url, n, repeat=1 if n > 200_000 else 3, cli=args.cli)
            print(
                f"{r['events']:>9,.0f} events: build {r['report_s']:.2f} s wall, {r['report_cpu_s']:.2f} s CPU "
                f"(worst wall {r['report_worst_s']:.2f} s; verify + read + fold in one pass); write md "
                f"{r['md_s']:.2f} s ({r['md_mb']:.2f} MB), html {r['html_s']:.2f} s ({r['html_mb']:.2f} MB), "
                f"json {r['json_s']:.2f} s ({r['json_mb']:.1f} MB); build + 3 formats {r['total_s']:.2f} s wall "
                f"({r['total_cpu_s']:.2f} s CPU for the whole child); "
                f"peak RSS {r['peak_rss_mb']:.0f} MB (+ {r['verifier_peak_rss_mb']:.0f} MB in the verifying process, "
                f"sum {r['peak_rss_mb'] + r['verifier_peak_rss_mb']:.0f} MB); {r['timeline_lines']:.0f} timeline lines",
                flush=True,
            )
            if args.cli:
                print(
                    "           runbook postmortem: "
                    + ", ".join(
                        f"{fmt} {r[f'cli_{fmt}_s']:.2f} s, {r[f'cli_{fmt}_peak_rss_mb']:.0f} MB peak"
                        for fmt in ("md", "html", "json")
                    ),
                    flush=True,
                )
            results.append(r)
            dispose_engines()
    target = Path(__file__).parent / "results" / "postmortem.json"
    target.parent.mkdir(exist_ok=True)
    target.write_text(json.dumps({"targets": TARGETS, "runs": results}, indent=2) + "\n")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
