"""The code keeps the shape docs/architecture.md describes.

Imports run one way: ``comments`` may import ``articles``, ``subscriptions`` and ``core``;
``articles`` may import ``core`` and nothing of ``comments``; ``accounts`` may import
``subscriptions`` and ``core``; ``subscriptions`` imports only ``core``; ``core`` imports
no app. No module imports
another module's private (underscore) names, and no module of the app grows past 450 lines.
The imports are read with ``ast`` from the source, so a lazy import inside a function counts
as much as one at the top.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "articles", "comments", "config", "core", "subscriptions")
FORBIDDEN = {
    "articles": {"comments", "accounts", "subscriptions"},
    "core": {"articles", "comments", "accounts", "subscriptions"},
    "accounts": {"comments", "articles"},
    "subscriptions": {"comments", "articles", "accounts"},
}
MAX_LINES = 450


def app_modules():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def imports_of(path: Path):
    """(line, imported module, names) for every import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module, [alias.name for alias in node.names]


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_imports_run_one_way_comments_to_articles_to_core():
    wrong = []
    for path in app_modules():
        app = path.relative_to(ROOT).parts[0]
        for line, module, _ in imports_of(path):
            top = module.split(".")[0]
            if top in FORBIDDEN.get(app, set()):
                wrong.append(f"{relative(path)}:{line} imports {module}")
    assert wrong == []


def test_no_module_imports_another_modules_private_names():
    wrong = []
    for path in app_modules():
        for line, module, names in imports_of(path):
            if module.split(".")[0] not in APPS:
                continue
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if private or any(part.startswith("_") for part in module.split(".")):
                wrong.append(f"{relative(path)}:{line} from {module} import {private}")
    assert wrong == []


def test_no_app_module_is_over_450_lines():
    long = [
        f"{relative(path)} ({count} lines)"
        for path in app_modules()
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    ]
    assert long == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from comments.models import Comment\n", ["articles/x.py:1 imports comments.models"]),
        ("def f():\n    import comments.views\n", ["articles/x.py:2 imports comments.views"]),
        ("from core.markup import sanitize\n", []),
    ],
)
def test_the_import_walk_sees_top_level_and_lazy_imports(tmp_path, source, expected):
    """The checker itself: an import of comments from articles, even inside a function,
    is caught; an import of core is not."""
    fake = tmp_path / "articles" / "x.py"
    fake.parent.mkdir()
    fake.write_text(source)
    found = [
        f"articles/x.py:{line} imports {module}"
        for line, module, _ in imports_of(fake)
        if module.split(".")[0] in FORBIDDEN["articles"]
    ]
    assert found == expected
