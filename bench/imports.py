"""Import a generated 100,000-comment WordPress export: time, peak memory, trees checked.

The file is written here (``wxr_file``): posts whose comments answer random earlier ones
(20% start a thread, depth below 12, as ``bench.forest``'s realistic shape), listed in
shuffled order, with HTML bodies, names, addresses and dates. ``manage.py import_comments``
runs in a child process of its own, so its peak resident memory is its own (``wait4``);
then the tree checker reads every imported thread, and the same file is imported again
(which must add nothing).
"""

import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import ROOT, log

COMMENTS = 100_000
POSTS = 20
WORDS = [
    "the",
    "army",
    "river",
    "bridge",
    "road",
    "north",
    "city",
    "talks",
    "truce",
    "report",
    "source",
    "claim",
    "front",
    "supply",
    "analysts",
    "say",
    "week",
    "after",
    "before",
    "would",
    "could",
    "never",
    "always",
    "maybe",
    "because",
    "however",
]


def _body(rng: random.Random) -> str:
    paragraphs = []
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
        words = [rng.choice(WORDS) for _ in range(rng.randint(10, 70))]
        if rng.random() < 0.2:
            words.insert(3, '<a href="https://example.org/report">a report</a>')
        if rng.random() < 0.2:
            words.insert(1, "<em>really</em>")
        paragraphs.append(" ".join(words).capitalize() + ".")
    return "\n\n".join(paragraphs)


def wxr_file(path: Path, comments: int = COMMENTS, posts: int = POSTS, seed: int = 1) -> None:
    """Write the export: ``posts`` items of ``comments // posts`` comments each."""
    rng = random.Random(seed)
    per_post = comments // posts
    with open(path, "w", encoding="utf-8") as out:
        out.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
            'xmlns:wp="http://wordpress.org/export/1.2/">\n<channel>\n<title>Bench</title>\n'
            "<wp:wxr_version>1.2</wp:wxr_version>\n"
            "<wp:base_site_url>https://bench.example</wp:base_site_url>\n"
        )
        next_id = 1
        for post in range(posts):
            rows, depth = [], {}
            for n in range(per_post):
                cid = next_id
                next_id += 1
                parent = 0
                if rows and rng.random() >= 0.2:
                    parent = rng.choice(rows)[0]
                    while depth[parent] >= 11:
                        parent = rng.choice(rows)[0]
                depth[cid] = depth[parent] + 1 if parent else 0
                rows.append((cid, parent, n))
            rng.shuffle(rows)
            out.write(
                f"<item>\n<title>Post {post}</title>\n"
                f"<link>https://bench.example/{post}/</link>\n"
                f"<content:encoded><![CDATA[<p>Post {post}.</p>]]></content:encoded>\n"
                f"<wp:post_id>{post + 1}</wp:post_id>\n<wp:post_name>post-{post}</wp:post_name>\n"
                "<wp:post_type>post</wp:post_type>\n"
            )
            for cid, parent, n in rows:
                out.write(
                    f"<wp:comment><wp:comment_id>{cid}</wp:comment_id>"
                    f"<wp:comment_author><![CDATA[Reader {cid % 997}]]></wp:comment_author>"
                    f"<wp:comment_author_email>r{cid % 997}@example.org</wp:comment_author_email>"
                    f"<wp:comment_author_IP>192.0.2.{cid % 250}</wp:comment_author_IP>"
                    f"<wp:comment_date_gmt>2020-{1 + n * 12 // per_post:02d}-01 "
                    f"{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}</wp:comment_date_gmt>"
                    f"<wp:comment_content><![CDATA[{_body(rng)}]]></wp:comment_content>"
                    f"<wp:comment_approved>{'1' if rng.random() < 0.95 else '0'}"
                    "</wp:comment_approved><wp:comment_type>comment</wp:comment_type>"
                    f"<wp:comment_parent>{parent}</wp:comment_parent></wp:comment>\n"
                )
            out.write("</item>\n")
        out.write("</channel>\n</rss>\n")


def _run_import(path: Path) -> tuple[float, int, str]:
    """``manage.py import_comments`` in a child process: seconds, peak RSS (bytes), output."""
    started = time.perf_counter()
    child = subprocess.Popen(  # noqa: S603 (this interpreter, manage.py, our file)
        [sys.executable, "manage.py", "import_comments", str(path)],
        cwd=ROOT,
        env=os.environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    output = child.stdout.read()
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise RuntimeError(f"import_comments failed:\n{output}")
    return seconds, usage.ru_maxrss * 1024, output


def measure(config) -> dict:
    from comments.integrity import find_broken_threads
    from comments.models import Comment

    comments = 10_000 if config.quick else COMMENTS
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.xml"
        log(f"import: writing a {comments:,}-comment WXR file")
        wxr_file(path, comments)
        size = path.stat().st_size
        log("import: importing it")
        seconds, rss, output = _run_import(path)
        imported = Comment.objects.filter(source="wordpress:https://bench.example")
        count = imported.count()
        problems = find_broken_threads(imported)
        log("import: importing it again")
        again_seconds, again_rss, again = _run_import(path)
    return {
        "comments": comments,
        "file_bytes": size,
        "seconds": seconds,
        "rss": rss,
        "stored": count,
        "problems": len(problems),
        "again_seconds": again_seconds,
        "again_rss": again_rss,
        "report": output.strip().splitlines(),
        "again_added": count != imported.count() or "Nothing new" not in again,
    }
