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
    }
