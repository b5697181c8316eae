"""The admin's "Import comments" page: upload an export, see the report (superusers only).

It runs ``comments.transfer.import_file``, the same import as ``manage.py
import_comments``, on the uploaded file (Django streams a large upload to a temporary
file). The page answers once the import has finished, so a file that takes longer than the
app server's worker timeout belongs to the command (README, "Moving from WordPress or
Disqus").
"""

import tempfile

from django import forms
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from comments.transfer import ImportStopped, run_import

FORMAT_CHOICES = [
    ("auto", _("Decide from the content")),
    ("wxr", _("WordPress (WXR)")),
    ("disqus", _("Disqus (XML)")),
    ("threadline", _("Threadline (JSON Lines)")),
]


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("Export file"),
        help_text=_(
            "A WordPress export (Tools → Export), a Disqus export, or a file from "
            "export_comments. Comments already imported are recognized and left as they are."
        ),
    )
    format = forms.ChoiceField(label=_("Format"), choices=FORMAT_CHOICES, initial="auto")
    dry_run = forms.BooleanField(
        required=False,
        label=_("Dry run: show what would be imported, write nothing"),
        label_suffix="",
    )


def import_view(request, admin_site):
    """GET: the form. POST: import the upload and show the report, or the problem."""
    if not request.user.is_superuser:
        raise PermissionDenied
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        with tempfile.NamedTemporaryFile(suffix=".export") as copy:
            for chunk in upload.chunks():
                copy.write(chunk)
            copy.flush()
            try:
                report = run_import(
                    copy.name,
                    fmt=form.cleaned_data["format"],
                    dry_run=form.cleaned_data["dry_run"],
                )
            except ImportStopped as exc:
                form.add_error("file", str(exc))
    context = {
        **admin_site.each_context(request),
        "title": _("Import comments"),
        "form": form,
        "report": report.lines() if report else None,
        "dry_run": report.dry_run if report else False,
    }
    return TemplateResponse(request, "admin/comments/import.html", context)
