"""Importing a discussion from plain text, and the demo thread loaded that way."""

from html.parser import HTMLParser
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from articles.models import Article
from comments import importer
from comments.models import Comment

SEED_TITLE = (
    "Clash Looming? Russia-backed Syrian Army heading for ISIL’s al-Raqqa in race with "
    "US-backed Kurds"
)
SEED_FIRST_WORDS = [
    "The YPG would handle",
    "A clash is unlikely",
    "The YPG has no interest",
    "“gaining support in the international community that",
    "Russia is becoming bogged-down",
]


def load_demo():
    out = StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def import_text(tmp_path, text, *args):
    path = tmp_path / "thread.txt"
    path.write_text(text, encoding="utf-8")
    out = StringIO()
    call_command("import_thread", str(path), *args, stdout=out)
    return out.getvalue()


def tree(article):
    """(depth, body, parent's body) of each comment in page order."""
    comments = Comment.objects.for_discussion(article).select_related("parent")
    return [(c.level, c.body, c.parent.body if c.parent else None) for c in comments]


class CommentNesting(HTMLParser):
    """Record the comment element each comment element sits inside, and its attributes."""

    def __init__(self):
        super().__init__()
        self.open, self.container, self.attributes = [], {}, {}

    def handle_starttag(self, tag, attrs):
        if tag != "article":
            return
        attrs = dict(attrs)
        element_id = attrs.get("id", "")
        if element_id.startswith("comment-"):
            pk = int(element_id.removeprefix("comment-"))
            self.container[pk] = next((p for p in reversed(self.open) if p), None)
            self.attributes[pk] = attrs
            self.open.append(pk)
        else:
            self.open.append(None)

    def handle_endtag(self, tag):
        if tag == "article":
            self.open.pop()


def test_load_demo_creates_the_article_with_its_byline_source_and_body(db):
    assert "Imported" in load_demo()
    article = Article.objects.get()
    assert article.title == SEED_TITLE
    assert article.byline == "Juan Cole"
    assert article.source == "Informed Comment"
    assert article.body.startswith("The Syrian Arab Army is advancing toward al-Raqqa city")
    assert "Also on Wednesday, the Syrian air force destroyed equipment" in article.body
    assert "The Syrian Army deeply dislikes the YPG and has vowed to put them down." in (
        article.body
    )
    assert "<p>Related video:</p>" in article.body_html
    assert "<em>R&amp;U Video: “SAA operations in Raqqa | June 7th 2016”</em>" in (
        article.body_html
    )
    assert "Responses" not in article.body


def test_load_demo_posts_the_seven_responses_in_file_order(db):
    load_demo()
    article = Article.objects.get()
    assert Comment.objects.count() == 7
    top = list(Comment.objects.for_discussion(article).filter(level=0))
    assert len(top) == 5
    for comment, words in zip(top, SEED_FIRST_WORDS, strict=True):
        assert comment.body.startswith(words)
        assert comment.author_name == "Anonymous reader"
    replies = list(top[3].get_children())
    assert [reply.body[:30] for reply in replies] == [
        "“gaining support in the intern",
        "Is the international community",
    ]
    assert all(reply.level == 1 for reply in replies)


def test_demo_responses_keep_their_paragraphs_and_line_breaks(db):
    load_demo()
    first, second, *_ = Comment.objects.filter(level=0).order_by("tree_id")
    assert second.body_html.count("<p>") == 2
    assert "Raqqa is well outside the Kurds’ Rojava project." in second.body_html
    # Response 1 is one paragraph of two lines: the line break is kept.
    assert first.body_html.count("<p>") == 1
    assert "either side.<br>" in first.body_html
    reply = Comment.objects.get(level=1, body__contains="obfuscates")
    assert reply.body_html.count("<p>") == 2


def test_load_demo_twice_changes_nothing(db):
    load_demo()
    assert "already exists; nothing imported" in load_demo()
    assert Article.objects.count() == 1
    assert Comment.objects.count() == 7


def test_demo_page_nests_the_two_replies_inside_response_four(client, db):
    load_demo()
    article = Article.objects.get()
    top = list(Comment.objects.for_discussion(article).filter(level=0))
    replies = list(top[3].get_children())
    response = client.get(article.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    page = CommentNesting()
    page.feed(html)
    in_page_order = [*(c.pk for c in top[:4]), *(r.pk for r in replies), top[4].pk]
    assert list(page.container) == in_page_order
    for number, comment in enumerate(top, start=1):
        assert page.attributes[comment.pk]["data-depth"] == "0"
        assert page.container[comment.pk] is None
        assert f'<span class="number">{number}.</span>' in html
    for reply in replies:
        assert page.attributes[reply.pk]["data-depth"] == "1"
        assert page.attributes[reply.pk]["data-parent"] == str(top[3].pk)
        assert page.container[reply.pk] == top[3].pk


DEEP_THREAD = """\
A deep one

By Ann Editor | (The Paper) | 1 May

Body *stays* plain.

4 Responses

  1. Top one.
    • Child.

      Child's second paragraph.
      • Grandchild.
        • Great-grandchild.
          Same paragraph, next line.
      • Second grandchild.
    • Second child.
    Top one again, after its replies.
  2. - Top two, not a list.
"""


def test_deeper_nesting_imports_as_the_indentation_says(tmp_path, db):
    assert "with 7 comments" in import_text(tmp_path, DEEP_THREAD)
    article = Article.objects.get(slug="a-deep-one")
    assert (article.byline, article.source) == ("Ann Editor", "The Paper")
    assert "<em>" not in article.body_html
    assert tree(article) == [
        (0, "Top one.\n\nTop one again, after its replies.", None),
        (1, "Child.\n\nChild's second paragraph.", "Top one.\n\nTop one again, after its replies."),
        (2, "Grandchild.", "Child.\n\nChild's second paragraph."),
        (3, "Great-grandchild.\\\nSame paragraph, next line.", "Grandchild."),
        (2, "Second grandchild.", "Child.\n\nChild's second paragraph."),
        (1, "Second child.", "Top one.\n\nTop one again, after its replies."),
        (0, "\\- Top two, not a list.", None),
    ]
    assert Comment.objects.get(level=0, body__contains="Top two").body_html == (
        "<p>- Top two, not a list.</p>\n"
    )


def test_import_with_a_slug_and_again_with_the_same_slug(tmp_path, db):
    import_text(tmp_path, DEEP_THREAD, "--slug", "deep")
    assert "already exists" in import_text(tmp_path, DEEP_THREAD, "--slug", "deep")
    assert list(Article.objects.values_list("slug", flat=True)) == ["deep"]
    assert Comment.objects.count() == 7


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Title\n\nBody.\n\n2 Responses\n\n    • A reply first.\n", "Line 7: expected the first"),
        ("Title\n\nBody.\n\n2 Responses\n\n  1. One.\n  • Not under it.\n", "Line 8: this reply"),
        ("Title\n\nBy Ann | (Paper) | today\n\n1 Response\n\n  1. One.\n", "no text"),
        ("", "The text is empty"),
    ],
)
def test_malformed_file_is_refused_and_stores_nothing(tmp_path, db, text, message):
    with pytest.raises(CommandError, match=message):
        import_text(tmp_path, text)
    assert Article.objects.count() == 0
    assert Comment.objects.count() == 0


def test_value_the_models_refuse_is_a_command_error_and_stores_nothing(tmp_path, db):
    with pytest.raises(CommandError, match="title: Ensure this value has at most 300"):
        import_text(tmp_path, "x" * 301 + "\n\nBody.\n\n1 Response\n\n  1. One.\n", "--slug", "x")
    assert Article.objects.count() == 0
    assert Comment.objects.count() == 0


def test_failure_midway_through_the_comments_stores_nothing(tmp_path, db, monkeypatch):
    posted = []

    def comment_create_failing_on_the_fourth(**kwargs):
        if len(posted) == 3:
            raise ValidationError({"body": "Refused."})
        posted.append(real_comment_create(**kwargs))
        return posted[-1]

    real_comment_create = importer.comment_create
    monkeypatch.setattr(importer, "comment_create", comment_create_failing_on_the_fourth)
    with pytest.raises(CommandError, match="body: Refused."):
        import_text(tmp_path, DEEP_THREAD)
    assert len(posted) == 3
    assert Article.objects.count() == 0
    assert Comment.objects.count() == 0
