"""The comments of an imported article as a forest: replies under their parents, whatever
the order of the file, at any depth, without recursion (a file may nest 100,000 deep).

Used by ``comments.transfer``. Plain Python over ``comments.formats.SourceComment``
records; nothing here touches the database.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from comments.formats import SourceComment


@dataclass(eq=False)
class Node:
    source: SourceComment
    children: list["Node"] = field(default_factory=list)
    orphan: bool = False  # its parent is not in the file (or it closed a loop of parents)


def build_forest(comments: list[SourceComment], key: Callable) -> list[Node]:
    """Link each comment to its parent by the file's ids; siblings and roots sorted by
    ``key``. A comment whose parent is missing, or is itself, becomes a root marked
    ``orphan``; so does the earliest (by ``key``) comment of each loop of parents (a
    answers b answers a), which keeps every reply below the loop where it was."""
    nodes = {c.id: Node(c) for c in comments}
    roots = []
    for node in nodes.values():
        parent = nodes.get(node.source.parent) if node.source.parent else None
        if parent is None or parent is node:
            roots.append(node)
            node.orphan = bool(node.source.parent)
        else:
            parent.children.append(node)
    reached = _reach(roots)
    for node in sorted(nodes.values(), key=key):
        if id(node) in reached:
            continue
        loop = _loop_above(node, nodes)
        top = min(loop, key=key)
        nodes[top.source.parent].children.remove(top)
        top.orphan = True
        roots.append(top)
        reached |= _reach([top])
    for node in nodes.values():
        node.children.sort(key=key)
    return sorted(roots, key=key)


def _loop_above(node: Node, nodes: dict[str, Node]) -> list[Node]:
    """The loop of parents that ``node`` hangs from (it is not reachable from any root, so
    following its parents must come back to one already seen)."""
    path, position = [], {}
    while id(node) not in position:
        position[id(node)] = len(path)
        path.append(node)
        node = nodes[node.source.parent]
    return path[position[id(node)] :]


def _reach(roots) -> set[int]:
    return {id(node) for node in walk(roots)}


def walk(roots) -> Iterator[Node]:
    """Every node, parents before their replies."""
    stack = list(reversed(roots))
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node.children))


def prune_deleted(roots: list[Node]) -> tuple[list[Node], list[str]]:
    """Drop deleted comments that keep no reply (a placeholder only stays while it keeps
    one), from the leaves up; return the forest and the ids dropped."""
    dropped = []
    for node in reversed(list(walk(roots))):  # replies before their parents
        dropped += [child.source.id for child in node.children if _gone(child)]
        node.children = [child for child in node.children if not _gone(child)]
    dropped += [root.source.id for root in roots if _gone(root)]
    return [root for root in roots if not _gone(root)], dropped


def _gone(node: Node) -> bool:
    return node.source.deleted and not node.children
