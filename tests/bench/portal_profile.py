"""Where a case page or API list request spends its time: queries per request and a cProfile of a loop.

Usage: .venv/bin/python tests/bench/portal_profile.py [--requests N] [--sql] [--top N]

A diagnostic companion to bench_portal.py, not a benchmark: it builds the same data (a throw-away
PostgreSQL database when reachable, else SQLite), signs the builder in through Django's test client and
then, in this one process, lists the SQL each target runs and profiles N requests to each target.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_portal  # noqa: E402  - shares the bench's data set-up


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--sql", action="store_true", help="print every statement of one request")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()

    database = bench_portal.Database()
    env = {"ASSAY_DATA_DIR": bench_portal.DATA_DIR, "DATABASE_URL": database.url,
           "DJANGO_SETTINGS_MODULE": "tests.bench.portal_site", "ASSAY_LOG_LEVEL": "WARNING"}
    if database.postgres and bench_portal.reachable("127.0.0.1", 6379):
        env.update({"REDIS_URL": bench_portal.REDIS_URL, "ASSAY_CACHE_PREFIX": f"portal-profile-{os.getpid()}"})
    try:
        email, case_id, token = bench_portal.prepare(env)
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from tests.factories import PASSWORD

        session = Client()
        if not session.login(email=email, password=PASSWORD):
            raise RuntimeError("login failed")
        anonymous = Client()  # as in the bench: the API and the bare view get no session cookie
        targets = {"case_page": (session, f"/cases/{case_id}/", {}),
                   "case_status_htmx": (session, f"/cases/{case_id}/", {"HTTP_HX_REQUEST": "true"}),
                   "api_list": (anonymous, "/api/v1/submissions/", {"HTTP_AUTHORIZATION": f"Bearer {token}"}),
                   "bare": (anonymous, "/bench/bare/", {})}
        for name, (client, path, headers) in targets.items():
            client.get(path, **headers)  # warm: template loaders, URL resolver, connections
            with CaptureQueriesContext(connection) as queries:
                response = client.get(path, **headers)
            assert response.status_code == 200, (name, response.status_code)
            sql_ms = sum(float(q["time"]) for q in queries.captured_queries) * 1000
            print(f"{name}: {len(queries)} queries, {sql_ms:.1f} ms in SQL, {len(response.content)} bytes")
            if args.sql:
                for q in queries.captured_queries:
                    print(f"    {float(q['time']) * 1000:6.2f} ms  {q['sql'][:220]}")
        for name, (client, path, headers) in targets.items():
            started = time.perf_counter()
            for _ in range(args.requests):
                client.get(path, **headers)
            plain = (time.perf_counter() - started) * 1000 / args.requests
            profile = cProfile.Profile()
            started = time.perf_counter()
            profile.enable()
            for _ in range(args.requests):
                client.get(path, **headers)
            profile.disable()
            elapsed = (time.perf_counter() - started) * 1000 / args.requests
            print(f"\n=== {name}: {plain:.2f} ms per request in-process, one thread ({elapsed:.2f} ms profiled)")
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(args.top)
            print(out.getvalue())
    finally:
        from django.db import connections

        connections.close_all()
        database.drop()


if __name__ == "__main__":
    main()
