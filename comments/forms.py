from django import forms
from django.conf import settings
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from comments import defences, services
from comments.models import Comment, Flag
from core import names


def within_length(body: str) -> None:
    """COMMENTS_MAX_LENGTH, said in our words. No ``maxlength`` on the field: a browser would
    cut a long paste short without a word (static/js/thread.js counts instead)."""
    limit = settings.COMMENTS_MAX_LENGTH
    if len(body) > limit:
        message = ngettext(
            "At most %(limit)s character, please: this has %(length)s, %(over)s too many.",
            "At most %(limit)s characters, please: this has %(length)s, %(over)s too many.",
            limit,
        )
        raise forms.ValidationError(
            message
            % {
                "limit": number_format(limit, force_grouping=True),
                "length": number_format(len(body), force_grouping=True),
                "over": number_format(len(body) - limit, force_grouping=True),
            }
        )


class CountedTextarea(forms.Textarea):
    """The comment field, carrying COMMENTS_MAX_LENGTH as ``data-max-length`` for the live
    count (read when drawn, so both forms that share the field agree with the setting)."""

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["attrs"]["data-max-length"] = settings.COMMENTS_MAX_LENGTH
        return context


class CommentForm(forms.Form):
    """A top-level comment or a reply. Field names are a public contract (see README)."""

    body = forms.CharField(
        label=_("Your comment"),
        widget=CountedTextarea(attrs={"rows": 5}),
        validators=[within_length],
        help_text=_("Markdown: **bold**, *italic*, [links](https://example.org), > quotes."),
        error_messages={"required": _("Write something before posting.")},
    )
    parent = forms.CharField(required=False, widget=forms.HiddenInput)
    author_name = forms.CharField(
        label=_("Name"),
        max_length=100,
        error_messages={"required": _("Give a name to post without an account.")},
    )
    author_email = forms.EmailField(
        label=_("Email (optional, never shown)"), required=False, max_length=254
    )
    notify_replies = forms.BooleanField(
        label=_("Notify me when someone replies"),
        required=False,
    )
    # Spam defences: a field people never see nor fill, and when the form was shown.
    website = forms.CharField(label=_("Leave this empty"), required=False)
    shown_at = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, data=None, *, user, article, reply_to=None, **kwargs):
        # Reply forms share the page with the main form: their ids must not collide.
        kwargs.setdefault("auto_id", f"id_reply{reply_to}_%s" if reply_to else "id_%s")
        super().__init__(data, **kwargs)
        self.article = article
        self.address_link = None  # (url, text) after the "Notify me" help, for an account
        if user.is_authenticated:
            del self.fields["author_name"]
            del self.fields["author_email"]
        self.fields["notify_replies"].help_text = self._notify_help(user)
        self.fields["website"].widget.attrs.update(autocomplete="off", tabindex="-1")
        self.initial.setdefault("shown_at", defences.form_token())
        if not settings.COMMENTS_HONEYPOT:
            del self.fields["website"]

    def _notify_help(self, user) -> str:
        """Says plainly where replies are mailed, and that we write only to a confirmed
        address (subscriptions/)."""
        if not user.is_authenticated:
            return gettext(
                "By email, to the address above. We'll only write once you confirm your "
                "address: the first email asks you to, unless you have confirmed it before."
            )
        if user.email:
            return gettext("By email, to your account's address.")
        self.address_link = (reverse("account_email"), gettext("Your email address"))
        return gettext("Add and confirm an email address on your account page to hear of replies:")

    def clean_author_name(self):
        """The name in its normal form (``core.names``): what is stored and shown. Refused
        without a letter, when it looks like a reserved word, or like an account's name."""
        name = names.normalize(self.cleaned_data["author_name"])
        if refusal := names.refusal(name):
            raise forms.ValidationError(refusal)
        return name

    def clean(self):
        """A guest who ticks "Notify me" must give an address (an account has its own)."""
        data = super().clean()
        wanted = data.get("notify_replies") and "author_email" in self.fields
        if wanted and not data.get("author_email") and not self.has_error("author_email"):
            self.add_error("author_email", gettext("Give your email address to hear of replies."))
        return data

    def clean_parent(self):
        raw = self.cleaned_data["parent"].strip()
        if not raw:
            return None
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
            raise forms.ValidationError(_("That is not a comment you can reply to."))
        parent = (
            Comment.objects.filter(pk=int(raw))
            .only("pk", "article_id", "status", "deleted_at")
            .first()
        )
        if parent is None:
            raise forms.ValidationError(_("The comment you replied to does not exist."))
        try:  # checked again under the thread's lock when the reply is stored
            services.check_parent(parent, self.article)
        except forms.ValidationError as error:
            raise forms.ValidationError(error.message_dict["parent"]) from None
        return parent.pk


class EditForm(forms.Form):
    body = CommentForm.base_fields["body"]


class FlagForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("What is wrong with this comment?"),
        choices=Flag.Reason.choices,
        widget=forms.RadioSelect,
    )
    text = forms.CharField(
        label=_("Details (optional)"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean(self):
        data = super().clean()
        if data.get("reason") == Flag.Reason.OTHER and not data.get("text", "").strip():
            self.add_error("text", _("Say briefly what is wrong."))
        return data
