"""Reports: render + sign + embed + log vs a bare WeasyPrint render of the same HTML, in one run; verify time.

Usage: .venv/bin/python tests/bench/bench_reports.py [--quick]
Runs against a throw-away SQLite database and key directory under a temp dir.
Last line: bench_reports: render_sign_ratio= verify_ms= ...
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ["ASSAY_DATA_DIR"] = tempfile.mkdtemp(prefix="assay-bench-reports-")
os.environ.pop("DATABASE_URL", None)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assay.settings")
os.environ.setdefault("ASSAY_LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    repeats = 3 if args.quick else 10
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)

    import hashlib

    import weasyprint

    from reviews.demo import demo_case_with_report
    from reviews.report_pdf import canonical, embed
    from reviews.reports import CSS_PATH, _no_network_fetcher, report_html, report_verify, statement_for
    from reviews.transparency import keyring, log_append, sth_sign

    report = demo_case_with_report()  # a real case, triaged in the sandbox, with its predicate
    predicate = report.statement["predicate"]
    html = report_html({k: v for k, v in predicate.items() if k != "pdf"}, for_pdf=True)
    css = weasyprint.CSS(filename=str(CSS_PATH))

    def bare() -> bytes:
        return weasyprint.HTML(string=html, url_fetcher=_no_network_fetcher).write_pdf(stylesheets=[css],
                                                                                       pdf_variant="pdf/ua-1")

    def ours() -> bytes:
        pdf = bare()
        statement_bytes = canonical(statement_for(predicate, pdf=pdf))
        key_id, signature = keyring().sign(statement_bytes)
        signed = embed(pdf=pdf, statement_bytes=statement_bytes, key_id=key_id, signature=signature)
        log_append(kind="report", subject_sha256=hashlib.sha256(statement_bytes).hexdigest())
        sth_sign()
        return signed

    bare(), ours()  # warm fonts and caches for both sides
    bare_t, ours_t = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        bare()
        bare_t.append(time.perf_counter() - start)
        start = time.perf_counter()
        ours()
        ours_t.append(time.perf_counter() - start)
    pdf = bytes(report.pdf)
    verify_t = []
    for _ in range(repeats * 3):
        start = time.perf_counter()
        result = report_verify(pdf)
        verify_t.append(time.perf_counter() - start)
    assert result.ok, result.message
    ratio = statistics.median(ours_t) / statistics.median(bare_t)
    print(f"bare WeasyPrint render: median {statistics.median(bare_t) * 1000:.0f} ms")
    print(f"render + sign + embed + log: median {statistics.median(ours_t) * 1000:.0f} ms")
    print(f"verify (signature, prefix, structure, revocation, inclusion): median "
          f"{statistics.median(verify_t) * 1000:.1f} ms")
    print(f"bench_reports: render_sign_ratio={ratio:.3f} verify_ms={statistics.median(verify_t) * 1000:.1f} "
          f"bare_render_ms={statistics.median(bare_t) * 1000:.0f}")


if __name__ == "__main__":
    main()
