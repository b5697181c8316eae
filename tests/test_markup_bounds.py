"""Markdown costs a bounded amount of work and memory, whatever a reader sends.

* Text that would make markdown-it-py search link labels or link addresses over and over
  (brackets before thousands of markup characters: seconds for 10,000 characters) is
  rendered with link syntax off, so its brackets show as text; ordinary comments keep their
  links. Text so dense with blocks or markup that Markdown would cost more than
  MARKUP_WORK_LIMIT is shown as plain paragraphs. Tables are not comment markup: they stay
  text, and cannot expand into millions of cells. For every ReDoS probe of the bench, the
  HTML stays within a few times the text.
  (How long each probe takes is measured by ``make bench``, never asserted here.)
* Previews are rate-limited apart from posts (COMMENTS_PREVIEW_RATE_LIMIT): past the limit
  a preview answers 429 with the reason, and the text stays in the form.
* The sanitizer's cache holds only stored HTML, within MARKUP_CACHE_BYTES: previews never
  enter it, and stored comments are served from it when drawn again.
"""

import re

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache

from bench.redos_probes import probe_texts, repeat
from comments.models import Comment
from core import markup

LENGTH = 10_000
LINK = "[the source](https://example.org/report)"


def post_url(article):
    return f"/articles/{article.slug}/comments/"


def text_of(html: str) -> str:
    return re.sub(r"<[^>]*>", "", html)


@pytest.fixture(autouse=True)
def _empty_sanitizer_cache():
    markup.cache_clear()
    yield
    markup.cache_clear()


@pytest.mark.parametrize(
    "head, unit",
    [
        # With the link's own, 200 brackets: as many as BRACKET_LIMIT lets through.
        pytest.param("[" * 199, "*_", id="199 brackets, then emphasis"),
        pytest.param("[" * 199, "<", id="199 brackets, then angle brackets"),
        pytest.param("![" * 100, "*_", id="100 image openers, then emphasis"),
        pytest.param("[", "`*", id="one stray bracket, then code spans"),
        pytest.param("[a](" * 33, "*_", id="33 unclosed link addresses"),
    ],
)
def test_text_that_makes_link_search_costly_renders_without_links(head, unit):
    """Markup over half of the text, words after: under MARKUP_WORK_LIMIT, so it is the
    count of link-search work that turns links off here, not the plain-text fallback."""
    body = f"{LINK} {head}{repeat(unit, 5_000)}{repeat(' word', LENGTH)}"[:LENGTH]
    assert markup.markup_work(body) <= markup.MARKUP_WORK_LIMIT
    html = markup.render_comment(body)
    assert markup.comment_html(body)[1] == "no links"
    assert "<a " not in html
    assert LINK in text_of(html)


def test_ordinary_comments_keep_their_links():
    """Five links among 10,000 characters of busy Markdown: emphasis, code, lists, quotes,
    footnote-style brackets and a stray "[", all in one long paragraph or many."""
    paragraph = (
        "Some *emphasis*, __strong__ and `code_with_underscores` [1], a - dash: "
        "x = a*b + c_d; <not a tag> & more! "
    )
    links = " ".join(f"[link {n}](https://example.org/{n})" for n in range(5))
    body = (
        f"{links} and a stray [ bracket. "
        + paragraph * 40
        + "\n\n> quoted\n\n- one\n- two\n\n"
        + paragraph * 40
    )[:LENGTH]
    html = markup.render_comment(body)
    for n in range(5):
        assert f'<a href="https://example.org/{n}" rel="nofollow ugc noopener">link {n}</a>' in html
    assert "<em>emphasis</em>" in html and "<li>two</li>" in html


@pytest.mark.parametrize(
    "unit, shown",
    [("- a\n", "<p>- a<br>\n- a<br>\n"), ("*_", "<p>*_*_*_*_"), ("# a\n\n", "<p># a</p>\n")],
)
def test_text_dense_with_blocks_or_markup_is_shown_as_plain_paragraphs(unit, shown):
    html = markup.render_comment(repeat(unit, LENGTH))
    assert html.startswith(shown)
    assert not re.search(r"<(li|em|strong|h1)>", html)


def test_a_table_in_a_comment_stays_text():
    html = markup.render_comment("| a | b |\n|---|---|\n| 1 | 2 |")
    assert html == "<p>| a | b |\n|---|---|\n| 1 | 2 |</p>\n"


def test_every_probe_renders_to_html_a_few_times_its_length():
    """Tables of a few header cells over many short rows once made 400 KB from 10 KB."""
    for name, text in probe_texts(LENGTH).items():
        html = markup.render_comment(text)
        assert len(html) <= 6 * len(text), name
        assert markup.render_comment(text) == html, name


def preview(client, article, body, **extra):
    return client.post(
        post_url(article), {"body": body, "author_name": "Ed", "preview": "1"}, **extra
    )


def test_previews_past_the_limit_answer_429_with_the_text_kept(client, article, settings):
    settings.COMMENTS_PREVIEW_RATE_LIMIT = "3/d"
    for n in range(3):
        response = preview(client, article, f"**draft {n}**")
        assert response.status_code == 200
        assert f"<strong>draft {n}</strong>" in response.content.decode()
    response = preview(client, article, "**draft 3**")
    html = response.content.decode()
    assert response.status_code == 429
    assert "many previews in a short time" in html
    assert "**draft 3**</textarea>" in html
    assert "<strong>draft 3</strong>" not in html
    assert Comment.objects.count() == 0


def test_htmx_preview_past_the_limit_answers_the_form_with_the_reason(client, article, settings):
    settings.COMMENTS_PREVIEW_RATE_LIMIT = "1/d"
    preview(client, article, "first", HTTP_HX_REQUEST="true")
    response = preview(client, article, "second", HTTP_HX_REQUEST="true")
    assert response.status_code == 429
    assert "many previews in a short time" in response.content.decode()
    assert "second</textarea>" in response.content.decode()


def test_previews_and_posts_are_counted_apart(client, article, settings):
    settings.COMMENTS_PREVIEW_RATE_LIMIT = "2/d"
    settings.COMMENTS_RATE_LIMIT = "2/d"
    assert [preview(client, article, f"p{n}").status_code for n in range(2)] == [200, 200]
    posts = [
        client.post(post_url(article), {"body": f"c{n}", "author_name": "Ed"}).status_code
        for n in range(2)
    ]
    assert posts == [303, 303]
    assert preview(client, article, "p2").status_code == 429
    assert client.post(post_url(article), {"body": "c2", "author_name": "Ed"}).status_code == 429


def test_an_account_is_limited_from_any_address(client, article, settings):
    settings.COMMENTS_PREVIEW_RATE_LIMIT = "2/d"
    client.force_login(User.objects.create_user("ann", password="pw-ann-123"))
    for address in ("192.0.2.1", "192.0.2.2"):
        assert preview(client, article, address, REMOTE_ADDR=address).status_code == 200
    assert preview(client, article, "third", REMOTE_ADDR="192.0.2.3").status_code == 429


def test_previews_do_not_enter_the_sanitizer_cache(client, article, settings):
    settings.COMMENTS_PREVIEW_RATE_LIMIT = "off"
    preview(client, article, "the first preview")  # the page itself: the article's body
    before = markup.cache_stats()
    for n in range(30):
        body = f"Preview number {n}: " + "words and more words " * 400
        assert preview(client, article, body).status_code == 200
    after = markup.cache_stats()
    assert (after["entries"], after["bytes"]) == (before["entries"], before["bytes"])


def test_stored_comments_are_served_from_the_cache(client, article, post):
    for n in range(3):
        post(f"Stored comment {n}")
    client.get(article.get_absolute_url())
    first = markup.cache_stats()
    cache.clear()  # the discussion fragment: draw the comments again
    assert "Stored comment 2" in client.get(article.get_absolute_url()).content.decode()
    second = markup.cache_stats()
    assert first["entries"] >= 3
    assert second["hits"] - first["hits"] >= 3
    assert second["entries"] == first["entries"]


def test_the_cache_holds_at_most_its_bytes(settings):
    settings.MARKUP_CACHE_BYTES = 200_000
    bodies = [f"<p>Comment {n}: {'x' * 10_000}</p>" for n in range(300)]
    for body in bodies:
        assert str(markup.sanitize(body)) == body
    stats = markup.cache_stats()
    assert 0 < stats["bytes"] <= 200_000
    assert 0 < stats["entries"] < 300
    markup.sanitize(bodies[-1])  # the most recent is still there
    assert markup.cache_stats()["hits"] == stats["hits"] + 1


def test_a_cache_of_zero_bytes_keeps_nothing(settings):
    settings.MARKUP_CACHE_BYTES = 0
    assert str(markup.sanitize("<p>kept?</p>")) == "<p>kept?</p>"
    assert markup.cache_stats()["entries"] == 0
