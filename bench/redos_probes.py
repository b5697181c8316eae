"""Texts that make a Markdown parser or sanitizer work hard: the ReDoS probes.

Plain and self-contained (no Django, no app import), so that worst-case inputs can be added
here without touching the code that times them (``bench/redos.py``). Each probe is named
for the report and cut to exactly the length asked for.
"""


def repeat(unit: str, length: int) -> str:
    """``unit`` repeated, cut to ``length`` characters."""
    return (unit * (length // len(unit) + 1))[:length]


def probe_texts(length: int) -> dict[str, str]:
    """The probes of the security issue (c), each ``length`` characters long, by name."""
    return {
        "spaces, then `$`": " " * (length - 1) + "$",
        "`[]:0` repeated": repeat("[]:0", length),
        "`[` repeated": repeat("[", length),
        "`]` repeated": repeat("]", length),
        "`<![` repeated": repeat("<![", length),
        "`>` repeated (nested quotes)": repeat(">", length),
        "`> ` repeated (nested quotes)": repeat("> ", length),
        "`*` repeated": repeat("*", length),
        "`* ` repeated (nested lists)": repeat("* ", length),
        "`*a` repeated (emphasis)": repeat("*a", length),
        # The worst inputs found for markdown-it-py's js-default preset (core/markup.py).
        "200 `[`, then `*_` repeated (link labels)": brackets_then("[", 200, "*_", length),
        "200 `[`, then `*_` over half, then words": brackets_then("[", 200, "*_", length, 1 / 2),
        "200 `[`, then `<` over half, then words": brackets_then("[", 200, "<", length, 1 / 2),
        "100 `![`, then `*_` over half, then words (image labels)": brackets_then(
            "![", 100, "*_", length, 1 / 2
        ),
        "33 `[a](`, then `*_` over half, then words (link addresses)": brackets_then(
            "[a](", 33, "*_", length, 1 / 2
        ),
        "tables of 256 header cells over one-cell rows": repeat(
            "|a" * 256 + "|\n" + "|-" * 256 + "|\n" + "a\n" * 256 + "\n", length
        ),
        "`*_` repeated (emphasis delimiters)": repeat("*_", length),
        "`- a` lines (a long list)": repeat("- a\n", length),
        "`a` lines (soft line breaks)": repeat("a\n", length),
    }


def brackets_then(opener: str, count: int, unit: str, length: int, share: float = 1) -> str:
    """``count`` openers (as many as fit), then ``unit`` repeated over ``share`` of the
    length, then plain words (markup dense enough to cost, not enough to be shown plain)."""
    head = (opener * count)[:length]
    markup = repeat(unit, int((length - len(head)) * share))
    return head + markup + repeat(" word", length - len(head) - len(markup))
