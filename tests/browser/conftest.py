import pytest


@pytest.fixture(autouse=True)
def _close_orm_connections_after_browser_tests(request):  # noqa: ANN001
    """Under Playwright's event loop the test body's ORM calls get their own connection (asgiref locals are
    per context); closing it lets PostgreSQL drop the test database at the end of the run."""
    from django.db import connections

    request.addfinalizer(connections.close_all)


@pytest.fixture(autouse=True)
def _allow_sync_orm_under_playwright(monkeypatch):  # noqa: ANN001
    """Playwright's sync API runs an event loop in this thread; the test body's ORM calls are still synchronous.
    Scoped to browser tests so the variable never leaks into other tests or subprocesses (check --deploy)."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
