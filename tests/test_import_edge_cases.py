"""What an outside review of the importer threw at it: odd encodings, ids, dates, loops,
repeats and the site's own exports coming back. Each ends as a clear one-line refusal with
nothing written, or as an import that loses nothing and can be run again."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from articles.models import Article
from comments.integrity import find_broken_threads
from comments.models import Comment


def comment(cid, parent=0, date="2020-01-01 00:00:00", text="hi", ip="192.0.2.1", name="Ann"):
    return (
        f"<wp:comment><wp:comment_id>{cid}</wp:comment_id>"
        f"<wp:comment_author>{name}</wp:comment_author>"
        f"<wp:comment_author_IP>{ip}</wp:comment_author_IP>"
        f"<wp:comment_date_gmt>{date}</wp:comment_date_gmt>"
        f"<wp:comment_content>{text}</wp:comment_content>"
        f"<wp:comment_approved>1</wp:comment_approved>"
        f"<wp:comment_parent>{parent}</wp:comment_parent></wp:comment>"
    )


def wxr(*items, site="https://e.example.org", prolog='<?xml version="1.0" encoding="UTF-8"?>'):
    """``items``: (path, [comment xml, ...]) pairs."""
    body = "".join(
        f"<item><title>{path}</title><link>{site}/{path}/</link>"
        f"<wp:post_id>{n}</wp:post_id><wp:post_type>post</wp:post_type>{''.join(comments)}</item>"
        for n, (path, comments) in enumerate(items, start=1)
    )
    return (
        f'{prolog}<rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/"><channel>'
        f"<wp:base_site_url>{site}</wp:base_site_url>{body}</channel></rss>"
    )


def write(tmp_path, name, content):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def run_import(path, *args) -> str:
    out = StringIO()
    call_command("import_comments", str(path), *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def run_export(*args) -> str:
    out = StringIO()
    call_command("export_comments", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def page_order(path):
    article = Article.objects.get(source_url__endswith=f"/{path}/")
    return [(c.level, c.source_id) for c in Comment.objects.for_discussion(article)]


# Refused in one line, nothing written ---------------------------------------------------

HEADER = '{"format": "threadline", "version": 1}\n'
REFUSED = {
    "latin1.jsonl": (
        HEADER.encode() + '{"type": "article", "title": "Café"}\n'.encode("latin-1"),
        "Line 2: not UTF-8",
    ),
    "nested.jsonl": (HEADER + "[" * 100_000 + "\n", "Line 2: not JSON that can be read"),
    "bigint.jsonl": (
        HEADER + '{"type": "article", "id": ' + "9" * 5000 + "}\n",
        "Line 2: not JSON that can be read",
    ),
    "cut-at-a-line.jsonl": (
        HEADER + '{"type": "article", "id": 1, "title": "A", "slug": "a"}\n',
        "stops without its end record",
    ),
    "header-only.jsonl": (HEADER, "stops without its end record"),
    "miscounted.jsonl": (
        HEADER + '{"type": "end", "articles": 0, "comments": 3}\n',
        "The end record counts 3 comments, the file holds 0",
    ),
    "sjis.xml": (
        wxr(("p", [comment(1)]), prolog='<?xml version="1.0" encoding="Shift_JIS"?>').encode(),
        "encoding cannot be read",
    ),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
@pytest.mark.django_db
def test_refused_in_one_line_with_nothing_written(tmp_path, name):
    content, problem = REFUSED[name]
    with pytest.raises(CommandError) as refused:
        run_import(write(tmp_path, name, content))
    assert problem in str(refused.value) and "\n" not in str(refused.value)
    assert Comment.objects.count() == 0 and Article.objects.count() == 0


@pytest.mark.django_db
def test_only_a_file_cut_short_is_called_truncated(tmp_path):
    unbound = wxr(("p", [comment(1)])).replace("</channel></rss>", "<x:y/></channel></rss>")
    with pytest.raises(CommandError) as refused:
        run_import(write(tmp_path, "unbound.xml", unbound), "--format", "wxr")
    assert "unbound prefix" in str(refused.value) and "truncated" not in str(refused.value)


# Imported, nothing lost -----------------------------------------------------------------


@pytest.mark.django_db
def test_utf16_and_latin1_exports_are_read(tmp_path):
    utf16 = wxr(("u", [comment(1, text="café")]), prolog='<?xml version="1.0" encoding="UTF-16"?>')
    run_import(write(tmp_path, "utf16.xml", utf16.encode("utf-16")))
    latin = wxr(
        ("l", [comment(2, text="crème")]), prolog='<?xml version="1.0" encoding="ISO-8859-1"?>'
    )
    run_import(write(tmp_path, "latin.xml", latin.encode("latin-1")))
    assert sorted(Comment.objects.values_list("body", flat=True)) == ["café", "crème"]


@pytest.mark.django_db
def test_text_that_no_column_can_hold_and_addresses_with_a_zone(tmp_path):
    record = {
        "type": "comment",
        "article": 1,
        "id": 1,
        "parent": None,
        "source": "x",
        "source_id": "1",
        "author_name": "A\ud800",
        "author_email": "a\ud800@e.org",
        "body": "b\ud800",
        "body_html": "<p>b\ud800</p>",
        "created_at": "2020-01-01",
    }
    article = {"type": "article", "id": 1, "title": "T\ud800", "slug": "t", "body": "x"}
    end = {"type": "end", "articles": 1, "comments": 1}
    text = "\n".join(json.dumps(r) for r in [json.loads(HEADER), article, record, end]) + "\n"
    run_import(write(tmp_path, "surrogates.jsonl", text))
    stored = Comment.objects.get()
    assert "\ufffd" in stored.author_name + stored.body and stored.article.title == "T\ufffd"
    run_import(write(tmp_path, "zone.xml", wxr(("z", [comment(5, ip="fe80::1%eth0")]))))
    assert Comment.objects.get(source_id="5").ip_address == "fe80::1"


@pytest.mark.django_db
def test_ids_longer_than_their_column_stay_distinct_and_import_once(tmp_path):
    long = "x" * 120
    path = write(tmp_path, "long.xml", wxr(("p", [comment(long + "a"), comment(long + "b")])))
    run_import(path)
    assert Comment.objects.count() == 2
    assert "Nothing new" in run_import(path)


@pytest.mark.django_db
def test_dates_beyond_any_real_comment_count_as_no_date(tmp_path, client):
    far = [
        comment(1, date="9999-12-31T23:30:00-05:00"),
        comment(2, date="0001-01-01T00:10:00+05:00"),
    ]
    before = timezone.now()
    run_import(write(tmp_path, "far.xml", wxr(("far", far))))
    assert all(before <= c.created_at <= timezone.now() for c in Comment.objects.all())
    assert client.get(f"/articles/{Article.objects.get().slug}/").status_code == 200
    assert run_export().count('"type": "comment"') == 2


@pytest.mark.django_db
def test_a_comment_id_met_twice_in_a_file_is_kept_once_and_dry_run_agrees(tmp_path):
    text = wxr(("a", [comment(7, text="in A")]), ("b", [comment(7, text="in B"), comment(8, 7)]))
    path = write(tmp_path, "dup.xml", text)
    dry = run_import(path, "--dry-run")
    real = run_import(path)
    assert dry.replace(" (a dry run: nothing was written)", "") == real
    assert "Skipped, comments given twice in the file (the first one kept): 1 (7)." in real
    assert "made top-level: 1 (8)." in real
    assert Comment.objects.count() == 2


@pytest.mark.django_db
def test_two_items_with_one_link_make_one_article_in_dry_runs_too(tmp_path):
    text = wxr(("same", [comment(1)]), ("same", [comment(2)]))
    path = write(tmp_path, "same.xml", text)
    assert "Articles created: 1; matched existing ones: 1." in run_import(path, "--dry-run")
    assert "Articles created: 1; matched existing ones: 1." in run_import(path)


@pytest.mark.django_db
def test_a_loop_of_parents_is_broken_at_its_earliest_and_replies_below_it_stay(tmp_path):
    loop = [
        comment(1, parent=3, date="2020-01-02 00:00:00"),
        comment(2, parent=1, date="2020-01-04 00:00:00"),
        comment(3, parent=2, date="2020-01-03 00:00:00"),
        comment(4, parent=1, date="2020-01-01 00:00:00"),  # earliest, but not in the loop
    ]
    report = run_import(write(tmp_path, "loop.xml", wxr(("loop", loop))))
    assert page_order("loop") == [(0, "1"), (1, "4"), (1, "2"), (2, "3")]
    assert "made top-level: 1 (1)." in report
    assert find_broken_threads() == []


@pytest.mark.django_db
def test_new_replies_under_stored_comments_take_their_place_by_date(tmp_path):
    first = [comment(1), comment(3, parent=1, date="2020-01-03 00:00:00")]
    run_import(write(tmp_path, "g1.xml", wxr(("g", first))))
    later = [*first, comment(2, parent=1, date="2020-01-02 00:00:00")]
    run_import(write(tmp_path, "g2.xml", wxr(("g", later))))
    assert page_order("g") == [(0, "1"), (1, "2"), (1, "3")]
    assert find_broken_threads() == []


# The site's own exports coming back ------------------------------------------------------


@pytest.fixture
def imported_and_posted(db, tmp_path, post):
    run_import(write(tmp_path, "wp.xml", wxr(("wp", [comment(1), comment(2, parent=1)]))))
    imported = Article.objects.get(source_url__endswith="/wp/")
    native = post("Posted here.", on=imported)
    post("A reply posted here.", parent=native, on=imported)
    return imported


@pytest.mark.django_db
def test_own_wxr_export_imported_back_changes_nothing(imported_and_posted, tmp_path):
    articles = Article.objects.count()
    export = write(tmp_path, "own.xml", run_export("--format", "wxr"))
    assert "Nothing new" in run_import(export)
    assert Comment.objects.count() == 4 and Article.objects.count() == articles


@pytest.mark.django_db
def test_a_restore_keeps_pks_and_can_be_exported_and_restored_again(
    imported_and_posted, tmp_path, post
):
    before = {c.pk: c.body for c in Comment.objects.all()}
    export = write(tmp_path, "site.jsonl", run_export())
    Article.objects.all().delete()
    run_import(export)
    assert {c.pk: c.body for c in Comment.objects.all()} == before  # permalinks still work
    newer = post("Posted after the restore.", on=Article.objects.get(source_url__endswith="/wp/"))
    assert newer.pk > max(before)
    again = write(tmp_path, "again.jsonl", run_export())
    Article.objects.all().delete()
    run_import(again)
    assert Comment.objects.count() == 5
    # and the original WordPress file, imported once more, is recognized
    wp = write(tmp_path, "wp2.xml", wxr(("wp", [comment(1), comment(2, parent=1)])))
    assert "Nothing new" in run_import(wp)


@pytest.mark.django_db
def test_wxr_export_of_a_comment_with_control_characters_reads_back(post, article, tmp_path):
    post("A form\x0cfeed.")
    export = write(tmp_path, "ff.xml", run_export("--format", "wxr"))
    Article.objects.all().delete()
    run_import(export)
    assert Comment.objects.get().body == "A form\ufffdfeed."


@pytest.mark.django_db
def test_an_item_without_a_link_never_joins_an_article_of_ours_by_slug(tmp_path, article):
    item = (
        f"<item><title>Same slug</title><wp:post_name>{article.slug}</wp:post_name>"
        f"<wp:post_id>9</wp:post_id><wp:post_type>post</wp:post_type>{comment(1)}</item>"
    )
    text = wxr().replace("</channel>", f"{item}</channel>")
    run_import(write(tmp_path, "nolink.xml", text))
    assert article.comments.count() == 0
    assert Article.objects.get(title="Same slug").slug == f"{article.slug}-2"
