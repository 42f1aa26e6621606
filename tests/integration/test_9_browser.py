"""A person's path, in a real browser: sign in with email and password, ask, watch the answer stream.

Headless Chromium (Debian's) opens the site origin, where a round-robin TCP balancer stands in for
the ALB in front of the two replicas; the answer comes from the Bedrock stand-in through the model
gateway. One browser session for the tier; a screenshot is saved with the test's artifacts.
"""

from __future__ import annotations

import time

import pytest

from tests.integration import browser
from tests.integration.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.support import bedrock_standin as bs
from tests.support import missing
from tests.support.tcp_balancer import TcpBalancer

QUESTION = "Onde posso tratar do passaporte em Díli?"


@pytest.fixture(scope="module")
def site(cluster):
    """The ALB stand-in on the site origin's port."""
    balancer = TcpBalancer([(r.url.split("//")[1].split(":")[0], r.port) for r in cluster.replicas],
                           port=cluster.site_port).start()
    try:
        yield balancer
    finally:
        balancer.stop()


@pytest.fixture(scope="module")
def driver(integration_requirements):
    absent = browser.missing_requirements()
    if absent:
        missing("browser requirements missing: " + "; ".join(absent))
    with browser.Browser() as web:
        yield web


def _visible_text(driver) -> str:
    return driver.execute_script("return document.body.innerText")


def test_sign_in_ask_and_see_the_answer_stream_in(cluster, admin, site, driver):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    standin = cluster.gateway.bedrock
    wait = WebDriverWait(driver, 90, poll_frequency=0.1)
    driver.get(cluster.site_origin + "/auth")
    try:
        wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "input#email"))).send_keys(ADMIN_EMAIL)
        driver.find_element(By.CSS_SELECTOR, "input[type=password]").send_keys(ADMIN_PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        prompt = wait.until(ec.element_to_be_clickable((By.ID, "chat-input")))
        _dismiss_dialogs(driver)
        # Slow chunks so the growing answer is visible between two polls of the page.
        previous_delay, standin.chunk_delay = standin.chunk_delay, 0.25
        try:
            prompt = driver.find_element(By.ID, "chat-input")
            prompt.click()
            prompt.send_keys(QUESTION)
            prompt.send_keys(Keys.ENTER)
            answer = "".join(bs.answer_chunks(QUESTION))
            partial_seen = []

            def answered(d):
                text = _visible_text(d)
                if "part-03" in text and "part-12." not in text:
                    partial_seen.append(text)
                return answer in text

            wait.until(answered)
        finally:
            standin.chunk_delay = previous_delay
        time.sleep(0.5)
        shot = browser.screenshot(driver, "chat-answer")
    except Exception:
        browser.screenshot(driver, "chat-answer-failed")
        raise
    assert shot.stat().st_size > 10_000
    assert partial_seen, "the page never showed a partial answer: it did not stream"
    assert QUESTION in _visible_text(driver)
    # Both replicas served the browser (the balancer spreads connections, no stickiness).
    assert all(count > 0 for count in site.connections.values()), site.connections


def _dismiss_dialogs(driver) -> None:
    """First sign-in shows the release notes dialog ("Okay, Let's Go!"); close whatever is open."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    time.sleep(1.0)
    for button in driver.find_elements(By.XPATH, "//button[contains(., \"Let's Go\") or contains(., 'Okay')]"):
        if button.is_displayed():
            button.click()
            time.sleep(0.3)
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
