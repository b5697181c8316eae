"""New comment rows in bulk, for imports (``services.comments_import`` takes the locks).

A new thread's nested-set numbers are computed in memory (pre-order), and its rows are
inserted level by level, parents first, so each reply can name its parent's pk. Rows are
plain values rather than model instances: an import builds a hundred thousand of them.
"""

from dataclasses import dataclass, field

from django.db import connection
from psycopg2.extras import execute_values

from comments.models import Comment

IMPORT_BATCH = 2000


@dataclass(eq=False)
class NewSubtree:
    """A comment to create, as its field values by attribute name (no tree fields; an
    ``id`` only to restore a comment under its old pk), and its replies in the order they
    are to be shown."""

    values: dict
    replies: list["NewSubtree"] = field(default_factory=list)
    pk: int | None = None


def number_threads(threads: list[NewSubtree], first_tree_id: int) -> list[list[tuple]]:
    """Number each new thread (``first_tree_id`` onwards); return their rows by depth, each
    as ``(node, parent node or None)``."""
    levels: list[list[tuple]] = []
    for offset, root in enumerate(threads):
        _number_thread(root, first_tree_id + offset, levels)
    return levels


def _number_thread(root: NewSubtree, tree_id: int, levels: list) -> None:
    counter = 1
    stack: list[tuple[NewSubtree, NewSubtree | None, int, bool]] = [(root, None, 0, False)]
    while stack:
        node, parent, depth, closing = stack.pop()
        if closing:
            node.values["rght"] = counter
            counter += 1
            continue
        node.values.update(tree_id=tree_id, level=depth, lft=counter)
        counter += 1
        if len(levels) == depth:
            levels.append([])
        levels[depth].append((node, parent))
        stack.append((node, parent, depth, True))
        stack.extend((reply, node, depth + 1, False) for reply in reversed(node.replies))


def insert_rows(nodes: list[NewSubtree]) -> None:
    """Insert new rows and note their pks. On PostgreSQL one multi-row INSERT ... RETURNING
    per batch (Django's bulk_create spends more time building model instances and SQL
    than PostgreSQL spends running it); elsewhere bulk_create."""
    if connection.vendor != "postgresql":
        rows = [Comment(**node.values) for node in nodes]
        Comment.objects.bulk_create(rows, batch_size=IMPORT_BATCH)
        for node, row in zip(nodes, rows, strict=True):
            node.pk = row.pk
        return
    restored = [node for node in nodes if "id" in node.values]
    if restored:
        _advance_pk_sequence(max(node.values["id"] for node in restored))
    for group in (restored, [node for node in nodes if "id" not in node.values]):
        for start in range(0, len(group), IMPORT_BATCH):
            _insert_batch(group[start : start + IMPORT_BATCH])


def _advance_pk_sequence(pk: int) -> None:
    """Move the pk sequence past ``pk`` before a row is inserted with it, so that new
    comments never draw it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(s::regclass, GREATEST(%s, nextval(s::regclass))) "
            "FROM pg_get_serial_sequence(%s, 'id') AS s",
            [pk, Comment._meta.db_table],
        )


def _insert_batch(batch: list[NewSubtree]) -> None:
    with_pk = "id" in batch[0].values
    fields = [f for f in Comment._meta.concrete_fields if with_pk or not f.primary_key]
    defaults = {f.attname: None if f.primary_key else f.get_default() for f in fields}
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(Comment._meta.db_table)
    sql = f"INSERT INTO {table} ({columns}) VALUES %s RETURNING id"  # noqa: S608 (model names)
    rows = [tuple((defaults | node.values).values()) for node in batch]
    with connection.cursor() as cursor:
        pks = execute_values(cursor.cursor, sql, rows, page_size=len(batch), fetch=True)
    for node, (pk,) in zip(batch, pks, strict=True):
        node.pk = pk
