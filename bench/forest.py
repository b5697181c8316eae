"""Big discussions built fast: valid nested-set forests inserted in bulk.

Used by the big-thread tests (through ``tests/conftest.py``) and by ``bench/run.py``.
Django must be set up before this module is imported.
"""

from django.db import connection
from django.db.models import Max

from comments.models import Comment


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
