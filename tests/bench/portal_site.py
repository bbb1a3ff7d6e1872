"""Settings for bench_portal's server: Assay's own, with tests.bench.portal_urls (Assay's URLs plus one bare
Django view as the baseline, behind exactly the same middleware on the same server)."""

from assay.settings import *  # noqa: F403

ROOT_URLCONF = "tests.bench.portal_urls"
# One builder session and one token stand for all 50 users: the per-account limits would throttle the bench,
# which measures latency, not the limits (the limits are still evaluated on every request).
ASSAY_RATE_LIMITS = {"token": "1000000/m", "reviewer-view": "1000000/h"}
# The bench builder has a dozen open drafts, beyond a real account's quota.
ASSAY_OPEN_CASE_QUOTA = {level: 100 for level in range(4)}
