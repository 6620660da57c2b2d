"""The error pages in headless Chromium (Playwright): 400, 403, 404 against the live server, and the
500 page from a gunicorn whose database is down. Screenshots of each, in both languages, at a
desktop's and a phone's width, go to var/shots-22/.

Chromium is Debian's ``/usr/bin/chromium`` (the quiz browser tests' fixture is reused); when it or
Playwright is missing the tests fail under REQUIRE_SERVICES=1 and skip loudly otherwise.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import translation

from accounts.models import Role
from accounts.tests.factories import make_course, make_member
from dlcv_site.tests.test_error_pages import HEADINGS, TOO_MANY_FIELDS
from dlcv_site.tests.web_front import free_port, gunicorn_server
from quizzes.tests.test_browser import browser, logged_in_page  # noqa: F401  (browser: a fixture)

pytestmark = [pytest.mark.browser]

SHOTS = Path(settings.BASE_DIR) / "var" / "shots-22"
WIDTHS = (1280, 375)
LANGS = ("en", "zh-hant")
ACCENT = "rgb(11, 92, 173)"  # site.css --accent: the stylesheet was served and applied


def _page(browser: Any, base_url: str, lang: str, width: int, user: Any = None) -> Any:  # noqa: F811
    return logged_in_page(browser, base_url, user, lang=lang, width=width, height=800)


def _heading(status: int, lang: str) -> str:
    with translation.override(lang):
        return translation.gettext(HEADINGS[status])


def _check_and_shoot(page: Any, response: Any, status: int, lang: str, width: int, *, logged_in: bool) -> None:
    from playwright.sync_api import expect

    assert response is not None and response.status == status
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.get_by_role("heading", level=1)).to_have_text(_heading(status, lang))
    with translation.override(lang):
        back, login = translation.gettext("Go to your courses"), translation.gettext("Log in")
    main = page.locator("main")
    expect(main.get_by_role("link", name=back)).to_have_attribute("href", "/")
    expect(main.get_by_role("link", name=login)).to_have_count(0 if logged_in else 1)
    assert main.get_by_role("link", name=back).evaluate("e => getComputedStyle(e).backgroundColor") == ACCENT
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1  # no sideways scrolling
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{status}-{lang}-{width}.png"), full_page=True)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lang", LANGS)
def test_404_and_400_pages_lead_back(browser: Any, live_server: Any, lang: str) -> None:  # noqa: F811
    from playwright.sync_api import expect

    for width in WIDTHS:
        page = _page(browser, live_server.url, lang, width)
        _check_and_shoot(page, page.goto(f"{live_server.url}/no/such/page/"), 404, lang, width, logged_in=False)
        if width == WIDTHS[0]:  # the way back works: anonymous, the courses are behind the login
            with translation.override(lang):
                page.locator("main").get_by_role("link", name=translation.gettext("Go to your courses")).click()
            expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/")
        page.context.close()
        page = _page(browser, live_server.url, lang, width)
        _check_and_shoot(page, page.goto(f"{live_server.url}/accounts/login/{TOO_MANY_FIELDS}"),
                         400, lang, width, logged_in=False)
        page.context.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lang", LANGS)
def test_403_page_for_a_student_at_the_instructor_pages(browser: Any, live_server: Any, lang: str) -> None:  # noqa: F811
    from playwright.sync_api import expect

    student = make_member(make_course("dlcv"), Role.STUDENT, username="alice")
    for width in WIDTHS:
        page = _page(browser, live_server.url, lang, width, user=student)
        _check_and_shoot(page, page.goto(f"{live_server.url}/instructor/"), 403, lang, width, logged_in=True)
        with translation.override(lang):
            page.locator("main").get_by_role("link", name=translation.gettext("Go to your courses")).click()
            expect(page.get_by_role("heading", level=1)).to_have_text(translation.gettext("Dashboard"))
        page.context.close()


# --------------------------------------------------------------------------- the database down


@pytest.fixture
def server_without_database() -> Iterator[str]:
    """gunicorn serving the site with its PostgreSQL unreachable (nothing listens on port 1)."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in ("CACHE_URL", "REDIS_URL")}
    env.update(DATABASE_URL="postgres://postgres@127.0.0.1:1/down", PYTHONUNBUFFERED="1")
    command = [sys.executable, "-m", "gunicorn", "dlcv_site.wsgi", "-b", f"127.0.0.1:{port}", "-w", "1"]
    with gunicorn_server(command, port, env=env,
                         log_path=Path(settings.VAR_DIR) / "test-error-pages-gunicorn.log") as listening:
        yield f"http://127.0.0.1:{listening}"


@pytest.mark.parametrize("lang", LANGS)
def test_500_page_renders_with_the_database_down(browser: Any, server_without_database: str, lang: str) -> None:  # noqa: F811
    for width in WIDTHS:
        page = _page(browser, server_without_database, lang, width)
        # A session cookie: the dashboard asks who is logged in, which reads the session's row.
        page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": "x" * 32,
                                   "url": server_without_database}])
        _check_and_shoot(page, page.goto(f"{server_without_database}/"), 500, lang, width, logged_in=False)
        page.context.close()
