"""Which code this is: a stamp of the files that draw pages, so that what was cached or
answered with an ETag under one release is not served under the next.

Discussion fragments are cached for up to ``COMMENTS_CACHE_SECONDS`` (a day) under their
discussion's version, and readers' browsers keep pages answered with an ETag. Neither
version changes when new code is deployed, so without the stamp a page would mix the old
markup with the new scripts and styles (whose names change with their content) until the
discussion changed. Every app server running the same code computes the same stamp.
"""

import hashlib
import os
from functools import cache
from pathlib import Path

from django.conf import settings

# What draws a page: templates, the Python that builds markup, scripts, styles, catalogues.
SUFFIXES = (".html", ".py", ".js", ".css", ".mo")
SKIPPED = {".venv", "staticfiles", "tests", "bench", "node_modules", ".git", "__pycache__"}


@cache
def stamp() -> str:
    """A short hash of the names and contents of the files that draw pages."""
    digest = hashlib.sha256()
    base = Path(settings.BASE_DIR)
    for folder, folders, files in os.walk(base):
        folders[:] = sorted(name for name in folders if name not in SKIPPED)
        for name in sorted(files):
            if name.endswith(SUFFIXES):
                path = Path(folder, name)
                digest.update(str(path.relative_to(base)).encode() + b"\0")
                digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]
