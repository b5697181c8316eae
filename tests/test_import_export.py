"""Discussions come in from WordPress and Disqus exports and go out again, losing nothing.

Every comment of a file is imported (threaded at any depth whatever the file's order,
dates, authors and statuses kept, HTML cleaned like a posted comment's) or counted in the
report with its id; a damaged or hostile file ends with one line naming the problem and
writes nothing; importing again adds only what is new; and an export imported into an
empty database shows every article's discussion as it was. The fixtures in
tests/data/imports/ are written by hand to cover what real exports vary in.
"""

import json
import random
import re
import shutil
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from articles.models import Article
from comments.integrity import find_broken_threads
from comments.management.commands.import_comments import Command
from comments.models import Comment
from comments.services import comment_create, comment_delete_by_author, comments_moderate

DATA = Path(__file__).parent / "data" / "imports"


def run_import(path, *args) -> str:
    out = StringIO()
    call_command("import_comments", str(path), *args, stdout=out)
    return out.getvalue()


def run_export(*args) -> str:
    out = StringIO()
    call_command("export_comments", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def shape(article) -> list[tuple]:
    """(depth, author, status, placeholder, text, created) of each comment in page order."""
    return [
        (c.level, c.author_name, c.status, c.deleted_at is not None, c.body_html, c.created_at)
        for c in Comment.objects.for_discussion(article)
    ]


def by_source_id(source_id) -> Comment:
    return Comment.objects.get(source_id=source_id)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# WordPress ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_wordpress_comments_thread_at_any_depth_in_posting_order_whatever_the_file_order():
    run_import(DATA / "wxr-1.0-http.xml")
    article = Article.objects.get(source_url="http://old.example.org/2010/04/rivers-and-roads/")
    assert (article.title, article.slug) == ("Rivers & roads", "rivers-and-roads")
    assert article.published_at == utc(2010, 4, 2, 9)
    rows = [(c.level, c.source_id) for c in Comment.objects.for_discussion(article)]
    # Alice (09:00); Frank answered her at 10:00, Grace answered Frank; Carol (listed
    # first in the file) answered Alice at 10:30; Bob (11:45, held), the spam, the
    # trashed one, Eve's reply to a comment not in the file (made top-level).
    assert rows == [
        (0, "101"),
        (1, "109"),
        (2, "110"),
        (1, "103"),
        (0, "102"),
        (0, "104"),
        (0, "105"),
        (0, "108"),
    ]
    assert find_broken_threads() == []


@pytest.mark.django_db
def test_wordpress_statuses_dates_and_authors_are_kept_and_no_account_is_made():
    report = run_import(DATA / "wxr-1.0-http.xml")
    assert {c.source_id: c.status for c in Comment.objects.all()} == {
        "101": "approved",
        "103": "approved",
        "109": "approved",
        "110": "approved",
        "108": "approved",
        "102": "pending",
        "104": "spam",
        "105": "removed",
        "130": "approved",
    }
    alice = by_source_id("101")
    assert (alice.author_name, alice.author_email, alice.ip_address) == (
        "Alice",
        "alice@example.org",
        "192.0.2.1",
    )
    assert alice.created_at == utc(2010, 4, 3, 9)
    bob = by_source_id("102")
    assert bob.author_name == "Bob <the builder>"
    assert bob.ip_address is None  # "unknown" is no address
    assert bob.created_at == utc(2010, 4, 3, 11, 45)  # no GMT date: the local one
    assert by_source_id("108").ip_address == "2001:db8::1"
    assert by_source_id("130").author_name == "Anonymous"
    assert User.objects.count() == 0
    assert "Skipped, pingbacks and trackbacks: 2 (106, 107)." in report
    assert "Replies whose parent is not in the file, made top-level: 1 (108)." in report
    assert "Skipped, comments on WordPress items that are neither posts nor pages: 1 (120)." in (
        report
    )
    assert (
        "Skipped, comments on WordPress posts that are not public (draft, private, trash): 1 (140)."
        in (report)
    )
    assert not Article.objects.filter(title="Secret draft").exists()


@pytest.mark.django_db
def test_imported_html_is_cleaned_like_a_posted_comment_and_its_text_kept_for_editing(client):
    run_import(DATA / "wxr-1.0-http.xml")
    alice = by_source_id("101")
    assert "<script" not in alice.body_html
    assert '<a href="http://example.com/x" rel="nofollow ugc noopener">a link</a>' in (
        alice.body_html
    )
    assert alice.body_html.count("<p>") == 2
    assert alice.body == (
        "First paragraph with a link (http://example.com/x) & an ampersand.\n\n"
        "Second paragraph with \\*stars\\*."
    )
    bob = by_source_id("102")
    assert "<strong>bold</strong>" in bob.body_html  # WordPress stores HTML: <b> shows bold
    assert "café & crème" in bob.body
    page = client.get("/articles/rivers-and-roads/").content.decode()
    assert "alice@example.org" not in page and "192.0.2.1" not in page
    assert "Second paragraph" in page and "<script>alert(1)" not in page


@pytest.mark.django_db
def test_items_without_comments_make_no_article_and_untitled_posts_get_a_title():
    report = run_import(DATA / "wxr-1.0-http.xml")
    assert "Articles created: 2; matched existing ones: 0." in report
    assert not Article.objects.filter(slug__in=["about", "photo"]).exists()
    untitled = Article.objects.get(source_url__endswith="untitled-thoughts.html")
    assert untitled.title == "Untitled thoughts (old.example.org)"
    assert untitled.slug == "untitled-thoughts"
    assert untitled.comments_open is False  # wp:comment_status closed


@pytest.mark.parametrize("name", ["wxr-1.1.xml", "wxr-1.2-https.xml"])
@pytest.mark.django_db
def test_every_wxr_version_and_namespace_scheme_is_read(name):
    run_import(DATA / name)
    assert Comment.objects.count() == (8 if name == "wxr-1.1.xml" else 2)
    assert find_broken_threads() == []


@pytest.mark.django_db
def test_wxr_with_https_namespace_and_cdata_everywhere_keeps_pages_and_paragraphs():
    run_import(DATA / "wxr-1.2-https.xml")
    page = Article.objects.get()
    assert (page.title, page.slug, page.comments_open) == (
        "A page with a closed discussion",
        "closed-page",
        False,
    )
    first, reply = Comment.objects.for_discussion(page)
    assert first.body_html == "<p>Already in paragraphs.</p><p>Two of them.</p>"
    assert first.body == "Already in paragraphs.\n\nTwo of them."
    assert (reply.parent_id, reply.source) == (first.pk, "wordpress:https://new.example.org")


# Disqus ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_disqus_threads_posts_placeholders_and_orphans():
    report = run_import(DATA / "disqus.xml")
    bridges = Article.objects.get(source_url="https://blog.example.com/2015/02/on-bridges/")
    assert bridges.title == "On bridges & tunnels"
    assert bridges.published_at == utc(2015, 2, 28, 8)
    rows = [
        (c.level, c.source_id, c.status, c.deleted_at is not None)
        for c in Comment.objects.for_discussion(bridges)
    ]
    assert rows == [
        (0, "5001", "approved", False),
        (1, "5002", "approved", True),  # deleted, kept as "[deleted]" for its reply
        (2, "5003", "approved", False),
        (0, "5005", "spam", False),
        (0, "5007", "approved", False),  # its parent 4999 is not in the file
    ]
    assert "Skipped, deleted, without replies: 1 (5004)." in report
    assert "Skipped, comments whose thread is not in the file: 1 (5006)." in report
    assert "Replies whose parent is not in the file, made top-level: 1 (5007)." in report
    assert "[deleted] placeholders keeping replies: 1" in report
    zoe = by_source_id("5003")
    assert (zoe.author_name, zoe.author_email, zoe.ip_address) == (
        "Zoë",
        "zoe@example.org",
        "192.0.2.50",
    )


@pytest.mark.django_db
def test_disqus_thread_without_title_or_id_and_post_without_id(client):
    report = run_import(DATA / "disqus.xml")
    untitled = Article.objects.get(source_url__endswith="/no-title-here/")
    assert untitled.title == "No title here (blog.example.com)"
    assert untitled.comments_open is False  # <isClosed>true
    (vera,) = untitled.comments.all()
    assert vera.source_id.startswith("sha256:")
    assert "Comments without an id, given one from their content: 1." in report
    assert not Article.objects.filter(title="Nobody commented").exists()
    assert "Comments are closed." in client.get(f"/articles/{untitled.slug}/").content.decode()


@pytest.mark.django_db
def test_disqus_html_is_cleaned():
    run_import(DATA / "disqus.xml")
    html = by_source_id("5001").body_html
    assert "javascript:" not in html and "onerror" not in html
    assert "<strong>bold</strong>" in html and "First &amp; foremost" in html


@pytest.mark.django_db
def test_format_is_decided_by_content_not_by_the_file_name(tmp_path):
    disguised = tmp_path / "comments.jsonl"
    shutil.copy(DATA / "disqus.xml", disguised)
    assert "(disqus)" in run_import(disguised)
    with pytest.raises(CommandError, match=r"its root element is <html>, not <rss>"):
        run_import(_write(tmp_path / "page.xml", "<html><body>hi</body></html>"))


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


# Idempotence, attaching, dry runs -------------------------------------------------------


@pytest.mark.django_db
def test_importing_the_same_file_again_creates_nothing_and_says_so():
    run_import(DATA / "disqus.xml")
    before = shape(Article.objects.get(source_url__endswith="/on-bridges/"))
    again = run_import(DATA / "disqus.xml")
    assert "Nothing new: everything in the file is already here." in again
    assert "Already imported before, left as they are: 6." in again
    assert Comment.objects.count() == 6 and Article.objects.count() == 2
    assert shape(Article.objects.get(source_url__endswith="/on-bridges/")) == before


@pytest.mark.django_db
def test_a_later_export_adds_only_what_is_new(tmp_path):
    run_import(DATA / "wxr-1.2-https.xml")
    later = (DATA / "wxr-1.2-https.xml").read_text()
    new = """<wp:comment><wp:comment_id>73</wp:comment_id>
      <wp:comment_author>Kim</wp:comment_author>
      <wp:comment_date_gmt>2024-01-03 09:00:00</wp:comment_date_gmt>
      <wp:comment_content>A reply to the reply, posted after the first import.</wp:comment_content>
      <wp:comment_approved>1</wp:comment_approved><wp:comment_parent>72</wp:comment_parent>
    </wp:comment><wp:comment><wp:comment_id>74</wp:comment_id>
      <wp:comment_author>Lea</wp:comment_author>
      <wp:comment_date_gmt>2024-01-04 09:00:00</wp:comment_date_gmt>
      <wp:comment_content>A new top-level comment.</wp:comment_content>
      <wp:comment_approved>1</wp:comment_approved><wp:comment_parent>0</wp:comment_parent>
    </wp:comment></item>"""
    report = run_import(_write(tmp_path / "later.xml", later.replace("</item>", new)))
    assert "Comments imported: 2; approved: 2." in report
    assert "Already imported before, left as they are: 2." in report
    page = Article.objects.get()
    assert [(c.level, c.source_id) for c in Comment.objects.for_discussion(page)] == [
        (0, "71"),
        (1, "72"),
        (2, "73"),
        (0, "74"),
    ]
    assert find_broken_threads() == []


@pytest.mark.django_db
def test_discussion_attaches_to_the_article_with_the_same_original_url():
    mine = Article.objects.create(
        title="My own title",
        slug="bridges",
        body="Written here.",
        source_url="https://blog.example.com/2015/02/on-bridges/",
    )
    report = run_import(DATA / "disqus.xml")
    assert "Articles created: 1; matched existing ones: 1." in report
    assert mine.comments.count() == 5
    mine.refresh_from_db()
    assert mine.title == "My own title"


@pytest.mark.django_db
def test_slugs_are_made_unique(article):
    Article.objects.create(title="Taken", slug="rivers-and-roads", body="x")
    run_import(DATA / "wxr-1.0-http.xml")
    assert Article.objects.filter(source_url__endswith="/rivers-and-roads/").get().slug == (
        "rivers-and-roads-2"
    )


@pytest.mark.django_db
def test_dry_run_prints_the_same_report_and_writes_nothing():
    dry = run_import(DATA / "disqus.xml", "--dry-run")
    assert Article.objects.count() == 0 and Comment.objects.count() == 0
    real = run_import(DATA / "disqus.xml")
    assert dry.replace(" (a dry run: nothing was written)", "") == real


# Refused files --------------------------------------------------------------------------

REFUSED = {
    "billion-laughs.xml": "Refused: the file declares the XML entity 'lol'",
    "external-entity.xml": "declares the XML entity 'secret' (it points at file:///etc/passwd)",
    "truncated.xml": "Not well-formed XML: unclosed token: line 87, column 4. The file ends "
    "before its elements do: it looks truncated.",
    "not-an-export.txt": "Not an export: the file is neither XML",
    "threadline-truncated.jsonl": "Line 4: not JSON (the file looks truncated)",
}


@pytest.mark.parametrize("name", sorted(REFUSED))
@pytest.mark.django_db
def test_hostile_and_damaged_files_end_with_one_line_naming_the_problem(name):
    with pytest.raises(CommandError) as refused:
        run_import(DATA / name)
    message = str(refused.value)
    assert REFUSED[name] in message
    assert message.endswith("Nothing was imported.") and "\n" not in message
    assert Article.objects.count() == 0 and Comment.objects.count() == 0


@pytest.mark.django_db
def test_an_empty_file_and_an_unknown_format_are_refused(tmp_path):
    with pytest.raises(CommandError, match="The file is empty"):
        run_import(_write(tmp_path / "empty.xml", "  \n"))
    with pytest.raises(CommandError, match="no such file"):
        run_import(tmp_path / "missing.xml")


# Scale: the bulk builder keeps trees sound ----------------------------------------------


def generated_wxr(comments: int, posts: int, seed: int = 7) -> tuple[str, dict[int, int]]:
    """A WXR file whose comments answer random earlier ones, listed in shuffled order;
    returns it and each comment's parent (0: top-level)."""
    rng = random.Random(seed)
    parents, items = {}, []
    for post in range(posts):
        ids = []
        for n in range(comments // posts):
            cid = post * 100_000 + n + 1
            parents[cid] = rng.choice(ids) if ids and rng.random() < 0.8 else 0
            ids.append(cid)
        rng.shuffle(ids)
        body = "".join(
            f"<wp:comment><wp:comment_id>{cid}</wp:comment_id>"
            f"<wp:comment_author>R{cid}</wp:comment_author>"
            f"<wp:comment_date_gmt>2020-01-01 00:00:{cid % 60:02d}</wp:comment_date_gmt>"
            f"<wp:comment_content>Comment {cid}</wp:comment_content>"
            f"<wp:comment_approved>1</wp:comment_approved>"
            f"<wp:comment_parent>{parents[cid]}</wp:comment_parent></wp:comment>"
            for cid in ids
        )
        items.append(
            f"<item><title>Post {post}</title><link>http://gen.example/{post}/</link>"
            f"<wp:post_id>{post + 1}</wp:post_id><wp:post_type>post</wp:post_type>{body}</item>"
        )
    text = (
        '<rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/"><channel>'
        f"<wp:base_site_url>http://gen.example</wp:base_site_url>{''.join(items)}</channel></rss>"
    )
    return text, parents


@pytest.mark.django_db
def test_two_thousand_shuffled_comments_come_in_as_sound_trees_with_every_parent_kept(
    tmp_path, django_assert_max_num_queries
):
    text, parents = generated_wxr(2000, 4)
    path = _write(tmp_path / "big.xml", text)
    with django_assert_max_num_queries(200):  # bulk inserts, not a query per comment
        report = run_import(path)
    assert "Comments imported: 2,000; approved: 2,000." in report
    assert find_broken_threads() == []
    stored = {int(c.source_id): c for c in Comment.objects.select_related("parent")}
    assert {cid: int(c.parent.source_id) if c.parent else 0 for cid, c in stored.items()} == parents


# Export and round trips -----------------------------------------------------------------


@pytest.fixture
def discussion(article, post):
    """Every kind of comment: nesting, statuses, a placeholder, an account's, an edit."""
    editor = User.objects.create_user("ed", email="ed@example.org")
    first = post("First *comment*.", name="Ann", author_email="ann@example.org")
    reply = post("A reply.", parent=first, name="Ben", ip_address="192.0.2.9")
    post("Deep reply.", parent=reply, name="Cy")
    gone = post("Will be deleted.", parent=first, name="Dee")
    post("Keeps the placeholder.", parent=gone, name="Eli")
    comment_delete_by_author(comment=gone)
    held = post("Held.", name="Fay", status="pending")
    spam = post("Spam.", name="Gus")
    comments_moderate(pks=[spam.pk], status="spam")
    removed = post("Removed.", name="Hal")
    comments_moderate(pks=[removed.pk], status="removed")
    comment_create(article=article, body="By an account.", user=editor)
    Comment.objects.filter(pk=held.pk).update(edited_at=timezone.now())
    return article


DISCUSSION_IDS = re.compile(
    r'((?:comment|meta|reply|replies)-|/comments/|reply=|after=|data-parent=")\d+'
)


def discussion_html(client, slug) -> str:
    page = client.get(f"/articles/{slug}/").content.decode()
    section = page[page.index('<section class="discussion"') : page.index('id="post-heading"')]
    return DISCUSSION_IDS.sub(r"\1N", section)


@pytest.mark.django_db
def test_threadline_export_imported_into_an_empty_database_shows_the_same_discussion(
    discussion, client, tmp_path
):
    before_rows = shape(discussion)
    before_page = discussion_html(client, discussion.slug)
    export = _write(tmp_path / "site.jsonl", run_export())
    Article.objects.all().delete()
    User.objects.all().delete()
    report = run_import(export)
    assert "Comments imported: 9; approved: 5; pending: 1; removed: 1; spam: 1;" in report
    article = Article.objects.get(slug=discussion.slug)
    assert (article.title, article.byline, article.body) == (
        discussion.title,
        discussion.byline,
        discussion.body,
    )
    assert shape(article) == [
        row if row[1] else (row[0], "ed", *row[2:]) for row in before_rows
    ]  # the account's comment keeps its name, as a guest's: no accounts are created
    account = re.compile(
        r' account"><bdi( id="name-\d+")?>ed</bdi><span class="visually-hidden"> \(account\)</span>'
    )
    guest = r'"><bdi\1>ed</bdi>'
    assert discussion_html(client, discussion.slug) == account.sub(guest, before_page)
    assert "Nothing new" in run_import(export)  # and once is enough


@pytest.mark.django_db
def test_own_export_imported_back_into_the_same_site_changes_nothing(discussion, tmp_path):
    export = _write(tmp_path / "site.jsonl", run_export())
    report = run_import(export)
    assert "Nothing new: everything in the file is already here." in report
    assert Comment.objects.count() == 9


@pytest.mark.django_db
def test_wxr_export_has_what_wordpress_reads_and_comes_back_the_same(discussion, tmp_path):
    before = shape(discussion)
    text = run_export("--format", "wxr", "--article", discussion.slug)
    for element in ["wp:wxr_version", "wp:post_id", "wp:post_type", "wp:comment_id"]:
        assert f"<{element}>" in text
    assert "<wp:comment_approved>spam</wp:comment_approved>" in text
    assert "<wp:comment_approved>trash</wp:comment_approved>" in text
    assert "<wp:comment_approved>0</wp:comment_approved>" in text
    export = _write(tmp_path / "site.xml", text)
    Article.objects.all().delete()
    run_import(export)
    article = Article.objects.get()
    assert (article.slug, article.source_url) == (discussion.slug, "")  # this site's own
    assert [row[:4] for row in shape(article)] == [
        (row[0], row[1] or "ed", *row[2:4]) for row in before
    ]


@pytest.mark.django_db
def test_export_of_an_unknown_article_is_refused():
    with pytest.raises(CommandError, match="No article has the slug 'nope'"):
        run_export("--article", "nope")


@pytest.mark.django_db
def test_progress_off_a_terminal_is_plain_counts(tmp_path):
    text, _ = generated_wxr(400, 4)
    progress = StringIO()
    call_command(
        "import_comments", str(_write(tmp_path / "g.xml", text)), stdout=StringIO(), stderr=progress
    )
    lines = progress.getvalue().splitlines()
    assert lines[-1] == "Processed 400 of 400 comments."
    assert all(re.fullmatch(r"Processed [\d,]+ of 400 comments\.", line) for line in lines)
    assert "\r" not in progress.getvalue()


def jsonl(*records) -> str:
    header = {"format": "threadline", "version": 1, "site": "http://elsewhere.example"}
    comments = sum(r["type"] == "comment" for r in records)
    end = {"type": "end", "articles": len(records) - comments, "comments": comments}
    return "\n".join(json.dumps(r) for r in [header, *records, end]) + "\n"


def comment_record(id, parent=None, **fields):
    return {
        "type": "comment",
        "article": 1,
        "id": id,
        "parent": parent,
        "source": "threadline:http://elsewhere.example",
        "source_id": str(id),
        "author_name": f"R{id}",
        "body": f"Comment {id}",
        "created_at": f"2020-01-0{id}T00:00:00+00:00",
        **fields,
    }


ARTICLE = {"type": "article", "id": 1, "slug": "loops", "title": "Loops", "body": "Text"}


@pytest.mark.django_db
def test_parents_in_a_loop_or_of_themselves_become_top_level_and_nothing_is_lost(tmp_path):
    text = jsonl(
        ARTICLE,
        comment_record(1, parent=2),  # 1 and 2 answer each other
        comment_record(2, parent=1),
        comment_record(3, parent=3),  # 3 answers itself
        comment_record(4, parent=2),
    )
    report = run_import(_write(tmp_path / "loops.jsonl", text))
    article = Article.objects.get(slug="loops")
    assert [(c.level, c.source_id) for c in Comment.objects.for_discussion(article)] == [
        (0, "1"),
        (1, "2"),
        (2, "4"),
        (0, "3"),
    ]
    assert "made top-level: 2 (3, 1)." in report or "made top-level: 2 (1, 3)." in report
    assert find_broken_threads() == []


@pytest.mark.django_db
def test_json_values_of_the_wrong_kind_or_with_nul_characters(tmp_path):
    nul = jsonl(ARTICLE, comment_record(1, author_name="A\u0000B", body="x\u0000y"))
    run_import(_write(tmp_path / "nul.jsonl", nul))
    stored = Comment.objects.get()
    assert "\x00" not in stored.author_name + stored.body
    wrong = jsonl(ARTICLE, comment_record(2, body={"not": "text"}))
    with pytest.raises(CommandError, match=r"Line 3: 'body' must be text, not dict"):
        run_import(_write(tmp_path / "wrong.jsonl", wrong))
    missing = jsonl({"type": "article", "id": 9, "slug": "x"})
    with pytest.raises(CommandError, match=r"Line 2: a article without 'title'"):
        run_import(_write(tmp_path / "missing.jsonl", missing))
    assert Comment.objects.count() == 1


@pytest.mark.django_db
def test_items_without_id_or_link_keep_their_own_comments(tmp_path):
    item = (
        "<item><title>{0}</title><wp:post_type>post</wp:post_type><wp:comment>"
        "<wp:comment_id>{1}</wp:comment_id><wp:comment_author>A</wp:comment_author>"
        "<wp:comment_content>On {0}</wp:comment_content><wp:comment_parent>0"
        "</wp:comment_parent></wp:comment></item>"
    )
    text = (
        '<rss xmlns:wp="http://wordpress.org/export/1.1/"><channel>'
        f"{item.format('First', 1)}{item.format('Second', 2)}</channel></rss>"
    )
    run_import(_write(tmp_path / "noid.xml", text))
    assert {a.title: [c.body for c in a.comments.all()] for a in Article.objects.all()} == {
        "First": ["On First"],
        "Second": ["On Second"],
    }


def test_on_a_terminal_progress_is_one_bar_redrawn_in_place(capsys):
    Command._bar("read", 2000, 0)
    Command._bar("write", 500, 2000)
    Command._bar("write", 2000, 2000)
    drawn = capsys.readouterr().err
    assert drawn == (
        "\rReading: 2,000 comments"
        f"\rProcessing: [{'#' * 7}{' ' * 23}] 500/2,000 comments"
        f"\rProcessing: [{'#' * 30}] 2,000/2,000 comments"
    )
