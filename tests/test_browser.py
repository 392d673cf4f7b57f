"""The demo in a real browser: headless Chromium against gunicorn on 127.0.0.1.

Playwright drives Debian's ``chromium`` (installed by scripts/_system.sh) through
``executable_path``, so nothing is downloaded. Screenshots of the main pages go
to ``test-output/screenshots/`` for a person to look at.
"""

from __future__ import annotations

import csv
import itertools
import re
import shutil
import typing as t
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from taskboard_server import OUTPUT, gunicorn_taskboard

pytestmark = pytest.mark.wsgi_only

SCREENSHOTS = OUTPUT / "screenshots"
PASSWORD = "correct horse"
# What Playwright does not already pass: no GPU, no QUIC, and no DNS at all
# (anything but 127.0.0.1/localhost fails at once instead of reaching out).
CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-quic",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
]
_names = itertools.count(1)


def chromium_path() -> str:
    for candidate in ("chromium", "chromium-browser"):
        found = shutil.which(candidate)
        if found:
            return found
    pytest.fail(
        "Chromium is missing: scripts/test installs it when run as root on Debian, "
        "or run `apt-get install --no-install-recommends chromium`."
    )


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[str]:
    workdir = tmp_path_factory.mktemp("taskboard-browser")
    with gunicorn_taskboard(workdir, workers=2) as (base, _proc):
        yield base


@pytest.fixture(scope="module")
def browser() -> t.Iterator[Browser]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def context(browser: Browser, base_url: str) -> t.Iterator[BrowserContext]:
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def shot(page: Page, name: str) -> None:
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def flash(page: Page) -> t.Any:
    return page.locator(".flash")


def unique_name(prefix: str) -> str:
    return f"{prefix}{next(_names)}"


def register(page: Page, username: str) -> None:
    page.goto("/auth/register")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Register").click()
    expect(flash(page)).to_have_text(f"Welcome, {username}! Your account is ready.")


def log_in(page: Page, username: str, *, remember: bool = False) -> None:
    page.goto("/auth/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    if remember:
        page.get_by_label("Remember me").check()
    page.get_by_role("button", name="Log in").click()
    expect(flash(page)).to_have_text(f"Logged in as {username}.")


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(flash(page)).to_have_text("You have been logged out.")
    expect(page).to_have_url(re.compile(r"/auth/login$"))


def column(page: Page, label: str) -> t.Any:
    return page.get_by_role("region", name=label)


def test_register_create_edit_and_move_tasks(page: Page) -> None:
    page.goto("/")
    expect(page).to_have_title("Welcome · Taskboard")
    expect(page.get_by_text("people are sharing 20 tasks here")).to_be_visible()
    # The logo is a real image that loaded, and the stylesheet applied.
    logo_width = page.locator(".hero img").evaluate("img => img.complete && img.naturalWidth")
    assert logo_width == 64
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(244, 246, 251)"
    shot(page, "01-welcome")

    # A validation error, shown next to its field; the form keeps the username.
    username = unique_name("ada")
    page.get_by_role("link", name="Register").first.click()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill("something else")
    page.get_by_role("button", name="Register").click()
    error = page.locator(".field.has-errors")
    expect(error).to_have_count(1)
    expect(error.locator("label")).to_have_text("Repeat password")
    expect(error.locator(".field-error")).to_have_text("Passwords must match.")
    expect(page.get_by_label("Username")).to_have_value(username)
    shot(page, "02-register-validation-error")

    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Register").click()
    expect(flash(page)).to_have_text(f"Welcome, {username}! Your account is ready.")
    expect(page.locator("nav")).to_contain_text(f"Signed in as {username}")
    expect(page.locator(".task")).to_have_count(20)  # the seeded board
    shot(page, "03-board")

    # New task: first with no title (a field error), then properly.
    page.get_by_role("link", name="New task", exact=True).click()
    page.get_by_label("Description").fill("Screenshots of every page")
    page.get_by_role("button", name="Create task").click()
    expect(page.locator(".field-error")).to_have_text("This field is required.")
    expect(page.get_by_label("Description")).to_have_value("Screenshots of every page")
    shot(page, "04-new-task-validation-error")
    page.get_by_label("Title").fill("Test the demo in Chromium")
    page.get_by_role("button", name="Create task").click()
    expect(flash(page)).to_have_text("Task “Test the demo in Chromium” created.")
    card = column(page, "To do").locator(".task").filter(has_text="Test the demo in Chromium")
    expect(card).to_have_count(1)
    expect(card).to_contain_text(f"{username} · just now")

    # Edit it: new title, new column.
    card.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"Edit task #\d+"))
    expect(page.get_by_label("Column")).to_have_value("todo")
    shot(page, "05-edit-task")
    page.get_by_label("Title").fill("Tested the demo in Chromium")
    page.get_by_label("Column").select_option(label="In progress")
    page.get_by_role("button", name="Save changes").click()
    expect(flash(page)).to_have_text("Task “Tested the demo in Chromium” updated.")
    moved = column(page, "In progress").locator(".task").filter(has_text="Tested the demo")
    expect(moved).to_have_count(1)

    # The arrow button moves it on to Done.
    moved.get_by_title("Move to Done").click()
    expect(flash(page)).to_have_text("Moved “Tested the demo in Chromium” to Done.")
    expect(column(page, "Done").locator(".task").filter(has_text="Tested the demo")).to_have_count(
        1
    )
    # "Mine" shows only this user's card.
    page.get_by_role("link", name="Mine").click()
    expect(page.locator(".task")).to_have_count(1)
    shot(page, "06-board-mine-after-moving")


def test_remember_me_survives_a_browser_restart(
    browser: Browser, context: BrowserContext, page: Page, base_url: str
) -> None:
    def restart(cookies: list[t.Any]) -> BrowserContext:
        # A browser restart keeps persistent cookies and drops session cookies.
        kept = [c for c in cookies if c["expires"] > 0]
        restarted = browser.new_context(base_url=base_url)
        restarted.set_default_timeout(10_000)
        restarted.add_cookies(kept)
        return restarted

    username = unique_name("rem")
    register(page, username)
    log_out(page)

    # Without "remember me": after a restart the user is a visitor again.
    log_in(page, username)
    names = {c["name"]: c for c in context.cookies()}
    assert names["session"]["expires"] == -1  # a session cookie
    assert "remember_token" not in names
    forgetful = restart(context.cookies())
    try:
        other = forgetful.new_page()
        other.goto("/")
        expect(other).to_have_title("Welcome · Taskboard")
    finally:
        forgetful.close()
    log_out(page)

    # With "remember me": the long-lived cookie logs the user back in.
    page.goto("/auth/login")
    expect(page.get_by_label("Remember me")).not_to_be_checked()
    shot(page, "07-login")
    log_in(page, username, remember=True)
    names = {c["name"]: c for c in context.cookies()}
    assert names["remember_token"]["expires"] > 0
    assert names["remember_token"]["httpOnly"]
    restarted = restart(context.cookies())
    try:
        assert [c["name"] for c in restarted.cookies()] == ["remember_token"]
        again = restarted.new_page()
        again.goto("/")
        expect(again).to_have_title("Board · Taskboard")
        expect(again.locator("nav")).to_contain_text(f"Signed in as {username}")
        # Logging out there ends the remembered login too.
        log_out(again)
        after_logout = restarted.cookies()
    finally:
        restarted.close()
    twice = restart(after_logout)
    try:
        last = twice.new_page()
        last.goto("/tasks/new")
        expect(last).to_have_url(re.compile(r"/auth/login\?next=%2Ftasks%2Fnew$"))
        expect(flash(last)).to_have_text("Please log in to see that page.")
    finally:
        twice.close()


def test_wrong_password_and_custom_404(page: Page) -> None:
    page.goto("/auth/login")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(flash(page)).to_have_text("Invalid username or password.")
    expect(flash(page)).to_have_class(re.compile(r"\bflash-error\b"))
    shot(page, "08-login-failed")

    response = page.goto("/no/such/page")
    assert response is not None and response.status == 404
    expect(page).to_have_title("Page not found · Taskboard")
    expect(page.locator(".error-page")).to_contain_text("There is nothing at /no/such/page.")
    shot(page, "09-not-found")
    page.get_by_role("link", name="Back to the board").click()
    expect(page).to_have_title("Welcome · Taskboard")


def test_csv_export_downloads(page: Page, tmp_path: Path) -> None:
    username = unique_name("csv")
    register(page, username)
    page.get_by_role("link", name="New task", exact=True).click()
    page.get_by_label("Title").fill("Export me, please")
    page.get_by_label("Description").fill('two lines,\nand "quotes"')
    page.get_by_role("button", name="Create task").click()
    expect(flash(page)).to_have_text("Task “Export me, please” created.")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    download = download_info.value
    assert download.suggested_filename == "tasks.csv"
    target = tmp_path / "tasks.csv"
    download.save_as(target)
    with open(target, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) >= 21  # the 20 seeded tasks and ours (other tests may add more)
    mine = [row for row in rows if row["author"] == username]
    assert [(r["title"], r["status"]) for r in mine] == [("Export me, please", "todo")]
    assert mine[0]["description"] == 'two lines,\r\nand "quotes"'  # a browser sends CRLF
    assert {row["author"] for row in rows} >= {"alice", "bob", "carol", username}
