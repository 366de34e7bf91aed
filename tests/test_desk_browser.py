"""The desk end to end in headless Chromium (Debian's chromium and chromedriver, driven
by Selenium): a token, verdicts by mouse and by keyboard, a withdrawal, a reload that
keeps them, two reviewers with different pairs, the weights and the routing rule on the
page, and the next ``link`` honouring the verdicts. Skipped without a browser, except
under CI=true, where a missing browser fails."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

import linkage
from linkage.datasets import generate_leads
from linkage.desk import create_app
from linkage.project import ReviewQueue

pytestmark = pytest.mark.slow

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def _browser_or_skip():
    missing = [p for p in (CHROMIUM, DRIVER) if not Path(p).exists()]
    try:
        from selenium import webdriver  # noqa: F401
    except ImportError:
        missing.append("selenium")
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must have {missing} for the desk's browser tests")
        pytest.skip(f"{missing} not installed: the desk's browser tests need them")


@pytest.fixture(scope="module")
def leads():
    return generate_leads(600, seed=3)


@pytest.fixture(scope="module")
def project(tmp_path_factory, leads) -> Path:
    _browser_or_skip()
    path = tmp_path_factory.mktemp("desk_browser") / "crm.linkage"
    linkage.link(leads, queue=path)
    return path


@pytest.fixture(scope="module")
def server(project):
    from werkzeug.serving import make_server

    app = create_app(project, idle_release=0.2)
    httpd = make_server("127.0.0.1", 0, app, threaded=True)  # a free port: xdist-safe
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    app.extensions["linkage.desk"].close()


def _browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1280,1400",
        "--lang=zh-CN",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(DRIVER), options=options)


@pytest.fixture
def browsers():
    opened = []

    def make():
        opened.append(_browser())
        return opened[-1]

    yield make
    for browser in opened:
        browser.quit()


def _item(browser, *, after: int | None = None) -> int:
    """The item the page shows; with ``after``, once it shows another one than that. The
    page redraws the pair after a verdict: an element read meanwhile may be stale, and is
    read again (a page that never moves on fails here, after 10 s)."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def shown(_) -> tuple[int] | bool:
        try:
            item = int(browser.find_element(By.ID, "pair").get_attribute("data-item"))
        except StaleElementReferenceException:
            return False
        return (item,) if item != after else False

    return WebDriverWait(browser, 10).until(shown)[0]


def test_verdicts_by_mouse_and_keyboard_withdraw_reload_and_link(project, server, browsers, leads):
    from selenium.webdriver.common.by import By

    queue = ReviewQueue.open(project)
    token = queue.add_reviewer("li.na")
    browser = browsers()
    browser.get(f"{server}/?token={token}")
    assert "token=" not in browser.current_url  # the cookie carries it on
    # The page shows each field's partial weight and the routing rule.
    assert "Routed here by" in browser.find_element(By.ID, "rule").text
    weights = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#evidence td.weight")]
    assert weights and any(float(w) != 0 for w in weights)
    assert browser.find_elements(By.CSS_SELECTOR, "#evidence .bar")
    first = _item(browser)
    browser.find_element(By.ID, "btn-match").click()  # by mouse
    second = _item(browser, after=first)
    browser.find_element(By.TAG_NAME, "body").send_keys("n")  # by keyboard
    third = _item(browser, after=second)
    browser.find_element(By.TAG_NAME, "body").send_keys("w")  # withdraw the last: second
    assert _item(browser, after=third) == second
    assert "withdrawn" in browser.find_element(By.ID, "msg").text
    browser.refresh()
    assert _item(browser) == second  # still leased to li.na
    verdicts = queue.verdicts().set_index("item_id")["verdict"].to_dict()
    assert verdicts == {first: "match"}
    assert queue.item(second)["status"] == "pending"
    assert third != second
    progress = browser.find_element(By.ID, "progress").text
    assert "decided 1" in progress
    # The next run honours the verdict.
    row = queue.item(first)
    result = linkage.link(leads, queue=project)
    entity = result.entities.set_index("lead_id")["entity_id"]
    assert entity[row["key_l"]] == entity[row["key_r"]]


def test_two_reviewers_get_different_pairs(project, server, browsers):
    queue = ReviewQueue.open(project)
    seen = []
    for name in ("zhao", "qian"):
        browser = browsers()
        browser.get(f"{server}/?token={queue.add_reviewer(name)}")
        seen.append(_item(browser))
    assert seen[0] != seen[1]


def test_without_a_token_the_browser_gets_401_and_no_data(project, server, browsers):
    from selenium.webdriver.common.by import By

    browser = browsers()
    browser.get(server + "/")
    assert "token is required" in browser.find_element(By.TAG_NAME, "body").text
    assert not browser.find_elements(By.ID, "pair")


def test_screenshot_of_a_chinese_pair(project, server, browsers, tmp_path):
    """docs/desk.png, written when LINKAGE_DESK_SCREENSHOT names a path."""
    target = os.environ.get("LINKAGE_DESK_SCREENSHOT")
    queue = ReviewQueue.open(project)
    browser = browsers()
    browser.get(f"{server}/?token={queue.add_reviewer('screenshot')}")
    shot = Path(target) if target else tmp_path / "desk.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(1280, min(max(height + 40, 800), 2400))
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
