"""Take the README's screenshots of a running Threadline.

    DEBUG=1 .venv/bin/python docs/screenshots.py [BASE_URL]

BASE_URL defaults to http://127.0.0.1:8000 (`make run` serves the demo there). This script
starts nothing: it opens the first article listed on the home page in headless Chromium
(Debian's, at CHROMIUM_PATH, default /usr/bin/chromium) and writes, beside itself:

    screenshots/thread.png        the article and its discussion, 1100 px wide, full page
    screenshots/thread-phone.png  the same at 390 px, as on a phone
    screenshots/reply-form.png    a comment with its reply form opened under it
    screenshots/thread-dark.png   the desktop page with prefers-color-scheme: dark
    screenshots/thread-best.png   the discussion sorted by Best (one screen, from its head)

It posts nothing: the reply form is opened, not submitted.
"""

import argparse
import re
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: the repository's packages, tests' included
from tests.support.browser import CHROMIUM_ARGS, CHROMIUM_PATH  # noqa: E402

OUT = Path(__file__).resolve().parent / "screenshots"
DESKTOP = {"width": 1100, "height": 900}
PHONE = {"width": 390, "height": 844}


def first_article_url(browser, base_url: str) -> str:
    page = browser.new_page(base_url=base_url)
    page.goto("/")
    link = page.locator(".article-list h2 a").first
    if not link.count():
        sys.exit(f"No article on {base_url}/: run `python manage.py load_demo` first.")
    href = link.get_attribute("href")
    page.close()
    return href


def shoot_page(browser, base_url, path, name, **context_options):
    context = browser.new_context(base_url=base_url, **context_options)
    page = context.new_page()
    page.goto(path)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=OUT / name, full_page=True)
    context.close()


def shoot_reply_form(browser, base_url, path, name):
    """Open the reply form under the first comment that has replies, and frame the two."""
    context = browser.new_context(base_url=base_url, viewport=DESKTOP)
    page = context.new_page()
    page.goto(path)
    page.wait_for_load_state("networkidle")
    with_replies = page.locator("#thread .comment:has(> details > .replies > .comment)")
    comment = with_replies.first if with_replies.count() else page.locator("#thread .comment").first
    pk = comment.get_attribute("id").removeprefix("comment-")
    actions = page.locator(f"#comment-{pk} > details > .actions")
    actions.get_by_role("link", name=re.compile("^Reply")).click()
    form = page.locator(f"#reply-{pk} form")
    form.wait_for()
    form.get_by_label("Name").fill("Reader")
    form.get_by_label("Your comment").fill("Which river do you mean, the Euphrates?")
    form.get_by_label("Your comment").focus()
    # Bounding boxes are relative to the viewport; a full-page clip is in page coordinates.
    scroll_y = page.evaluate("window.scrollY")
    top = page.locator(f"#comment-{pk} > details > .meta").bounding_box()["y"] + scroll_y
    form_box = form.bounding_box()
    bottom = form_box["y"] + form_box["height"] + scroll_y
    page.screenshot(
        path=OUT / name,
        full_page=True,
        clip={
            "x": 0,
            "y": max(top - 24, 0),
            "width": DESKTOP["width"],
            "height": bottom - top + 48,
        },
    )
    context.close()


def shoot_discussion(browser, base_url, path, name):
    """One screen of the discussion, from its heading and order switch down."""
    context = browser.new_context(base_url=base_url, viewport=DESKTOP)
    page = context.new_page()
    page.goto(path)
    page.wait_for_load_state("networkidle")
    page.locator("#responses").evaluate("element => element.scrollIntoView()")
    page.screenshot(path=OUT / name)
    context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base_url", nargs="?", default="http://127.0.0.1:8000")
    base_url = parser.parse_args().base_url.rstrip("/")
    OUT.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM_PATH, headless=True, args=CHROMIUM_ARGS
        )
        path = first_article_url(browser, base_url)
        shoot_page(browser, base_url, path, "thread.png", viewport=DESKTOP)
        shoot_page(
            browser,
            base_url,
            path,
            "thread-phone.png",
            viewport=PHONE,
            is_mobile=True,
            has_touch=True,
        )
        shoot_reply_form(browser, base_url, path, "reply-form.png")
        shoot_page(
            browser, base_url, path, "thread-dark.png", viewport=DESKTOP, color_scheme="dark"
        )
        shoot_discussion(browser, base_url, f"{path}?order=best", "thread-best.png")
        browser.close()
    for name in (
        "thread.png",
        "thread-phone.png",
        "reply-form.png",
        "thread-dark.png",
        "thread-best.png",
    ):
        print(OUT / name)


if __name__ == "__main__":
    main()
