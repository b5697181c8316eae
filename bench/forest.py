"""Big discussions built fast: valid nested-set forests inserted in bulk.

Used by the big-thread tests and by the benchmarks (``bench/harness.py``).
Django must be set up before this module is imported.
"""

import random

from django.db import connection
from django.db.models import Max

from comments.models import Comment
from core.markup import render_comment


def bulk_forest(article, size, *, fanout=3, depth=4):
    """Insert ``size`` approved comments at once as valid nested sets (for big-thread tests).

    Going through ``comment_create`` costs a locked transaction per row; for 10,000 rows the
    tests build the same shape directly, then prove it valid with the tree checker.
    The shape: top-level comments each with up to ``fanout`` replies per level, ``depth``
    levels deep, filled in pre-order.
    """
    start = (Comment.objects.aggregate(m=Max("tree_id"))["m"] or 0) + 1
    per_tree = sum(fanout**level for level in range(depth + 1))
    rows, pk_next = [], (Comment.objects.aggregate(m=Max("pk"))["m"] or 0) + 1
    remaining, tree_id = size, start
    while remaining:
        n = min(per_tree, remaining)
        remaining -= n
        # Pre-order walk of a complete fanout-ary tree, truncated to n nodes.
        nodes, counter = [], iter(range(n))

        def walk(level, parent, nodes=nodes, counter=counter):
            index = next(counter, None)
            if index is None:
                return None
            node = {"level": level, "parent": parent, "children": []}
            nodes.append(node)
            if level < depth:
                for _ in range(fanout):
                    child = walk(level + 1, node)
                    if child is None:
                        break
                    node["children"].append(child)
            return node

        walk(0, None)
        position = 0

        def number(node):
            nonlocal position
            position += 1
            node["lft"] = position
            for child in node["children"]:
                number(child)
            position += 1
            node["rght"] = position

        number(nodes[0])
        for node in nodes:
            node["pk"] = pk_next
            pk_next += 1
        for node in nodes:
            rows.append(
                Comment(
                    pk=node["pk"],
                    article=article,
                    author_name="Bulk",
                    body="Bulk comment.",
                    body_html="<p>Bulk comment.</p>",
                    tree_id=tree_id,
                    lft=node["lft"],
                    rght=node["rght"],
                    level=node["level"],
                    parent_id=node["parent"]["pk"] if node["parent"] else None,
                )
            )
        tree_id += 1
    Comment.objects.bulk_create(rows, batch_size=2000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('comments_comment', 'id'), %s)", [pk_next]
            )
    return rows


# --- realistic discussions -----------------------------------------------------------------

_WORD_TEXT = (
    "the a an and but or so because although if when while of in on at to from with without "
    "about against between through after before under over this that these those it they we "
    "you he she people government army election vote law court minister president country "
    "city war peace oil price market economy tax budget report article author argument "
    "point question answer evidence source claim history policy reform protest police "
    "border refugee treaty sanction alliance region province crisis deal talks ceasefire "
    "troops analyst journalist reader comment thread reply link data number year month week "
    "day is are was were has have had will would could should might must can may do does "
    "did not never always often rarely really clearly probably certainly simply actually "
    "still good bad wrong right true false new old big small long short early late strong "
    "weak agree disagree think believe know say said read wrote see saw mean means show "
    "shows explain explains ignore ignores miss misses remember forget expect happen "
    "happened"
)
_NAME_TEXT = (
    "Amira Ben Chloé Dmitri Elena Farid Grace Hiro Ines Jonas Kofi Lena Mateo Nadia Omar "
    "Priya Quentin Rosa Sven Tariq Uma Victor Wen Ximena Yusuf Zoe"
)
WORDS, NAMES = _WORD_TEXT.split(), _NAME_TEXT.split()


def _sentence(rng) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(5, 22))]
    if rng.random() < 0.08:
        index = rng.randrange(len(words))
        words[index] = f"*{words[index]}*"
    text = " ".join(words)
    return text[0].upper() + text[1:] + rng.choice(".....?!")


def comment_body(rng) -> str:
    """1–6 sentences of filler; longer ones sometimes in two paragraphs."""
    sentences = [_sentence(rng) for _ in range(rng.randint(1, 6))]
    if len(sentences) >= 4 and rng.random() < 0.5:
        cut = rng.randint(1, len(sentences) - 1)
        return " ".join(sentences[:cut]) + "\n\n" + " ".join(sentences[cut:])
    return " ".join(sentences)


def realistic_shape(size, *, seed, top_level_share=0.2, max_depth=12):
    """Parent index (or -1) and level of each of ``size`` comments, in posting order.

    Each comment starts a new thread with probability ``top_level_share`` (the first one
    always does), else replies to a uniformly random earlier comment whose level is below
    ``max_depth``. Threads therefore grow in proportion to their size, as busy ones do.
    """
    rng = random.Random(seed)
    parents, levels = [], []
    for index in range(size):
        if index == 0 or rng.random() < top_level_share:
            parents.append(-1)
            levels.append(0)
            continue
        while True:
            parent = rng.randrange(index)
            if levels[parent] < max_depth:
                break
        parents.append(parent)
        levels.append(levels[parent] + 1)
    return parents, levels


def realistic_forest(
    article, size, *, seed, top_level_share=0.2, max_depth=12, distinct_bodies=400
):
    """Insert ``size`` approved comments shaped like a real discussion, as valid nested sets.

    The shape comes from :func:`realistic_shape`; replies keep their posting order under
    their parent (nested-set numbers are given per thread by a depth-first walk in creation
    order). Bodies are 1–6 sentences drawn from a fixed word list: ``distinct_bodies`` of
    them are written and rendered once (with ``render_comment``) and reused at random.
    Primary keys, thread ids and (on PostgreSQL) ``created_at`` grow in posting order,
    a minute apart and ending now. Seeded: the same arguments give the same rows.
    """
    rng = random.Random(seed + 1)
    parents, levels = realistic_shape(
        size, seed=seed, top_level_share=top_level_share, max_depth=max_depth
    )
    bodies = [comment_body(rng) for _ in range(distinct_bodies)]
    bodies_html = [render_comment(body) for body in bodies]
    children = [[] for _ in range(size)]
    roots = []
    for index, parent in enumerate(parents):
        (roots if parent < 0 else children[parent]).append(index)
    lft, rght, tree_of = [0] * size, [0] * size, [0] * size
    first_tree = (Comment.objects.aggregate(m=Max("tree_id"))["m"] or 0) + 1
    for offset, root in enumerate(roots):
        tree_id, position = first_tree + offset, 1
        stack = [(root, False)]
        while stack:  # iterative depth-first walk: threads can be thousands deep in rows
            node, done = stack.pop()
            if done:
                rght[node] = position
                position += 1
                continue
            lft[node] = position
            tree_of[node] = tree_id
            position += 1
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(children[node]))
    first_pk = (Comment.objects.aggregate(m=Max("pk"))["m"] or 0) + 1
    rows = []
    for index in range(size):
        body = rng.randrange(distinct_bodies)
        rows.append(
            Comment(
                pk=first_pk + index,
                article=article,
                author_name=rng.choice(NAMES),
                body=bodies[body],
                body_html=bodies_html[body],
                tree_id=tree_of[index],
                lft=lft[index],
                rght=rght[index],
                level=levels[index],
                parent_id=first_pk + parents[index] if parents[index] >= 0 else None,
            )
        )
    Comment.objects.bulk_create(rows, batch_size=2000)
    last_pk = first_pk + size - 1
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # auto_now_add stamped every row "now": spread them out in posting order.
            cursor.execute(
                "UPDATE comments_comment SET created_at = now() - (%s - id) * interval '1 minute'"
                " WHERE id BETWEEN %s AND %s",
                [last_pk, first_pk, last_pk],
            )
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('comments_comment', 'id'), %s)", [last_pk]
            )
    return rows
