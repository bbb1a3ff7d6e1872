import pytest


@pytest.fixture(autouse=True)
def _close_orm_connections_after_browser_tests(request):  # noqa: ANN001
    """Under Playwright's event loop the test body's ORM calls get their own connection (asgiref locals are
    per context); closing it lets PostgreSQL drop the test database at the end of the run."""
    from django.db import connections

    request.addfinalizer(connections.close_all)
