from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from mptt.models import MPTTModel, TreeForeignKey

from articles.models import published_q
from core.markup import sanitize


class CommentStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    APPROVED = "approved", _("approved")
    SPAM = "spam", _("spam")
    REMOVED = "removed", _("removed")


def visible_q(prefix: str = "") -> Q:
    """The one definition of a *visible* comment: approved and not deleted by its author.

    ``prefix`` reaches it through a relation (``visible_q("comments__")`` on articles).
    ``Comment.is_visible`` is the same rule for a row already in memory.
    """
    return Q(**{f"{prefix}status": CommentStatus.APPROVED, f"{prefix}deleted_at__isnull": True})


def has_replies_q() -> Q:
    """Comments with at least one reply (nested sets: a leaf has ``rght == lft + 1``).
    ``Comment.has_replies`` is the same rule for a row in memory."""
    return Q(rght__gt=F("lft") + 1)


class CommentQuerySet(models.QuerySet):
    def visible(self):
        """Comments a reader sees as comments: approved and not deleted by their author."""
        return self.filter(visible_q())

    def on_published_articles(self):
        """Comments whose article is published: every comment URL follows its article's
        visibility (an article not yet out answers 404, and so do its comments)."""
        return self.filter(published_q("article__"))

    def in_moderation(self):
        """What editors must look at: held comments and reported ones not yet reviewed."""
        return self.filter(
            Q(status=Comment.Status.PENDING)
            | Q(flags__reviewed=False, status=Comment.Status.APPROVED)
        ).distinct()

    def for_discussion(self, article):
        """Every row of an article's discussion in page order: one query, pre-order."""
        return self.filter(article=article).select_related("user").order_by("tree_id", "lft")


class Comment(MPTTModel):
    """One response in an article's discussion.

    Each top-level comment roots a tree of its own (its own ``tree_id``), so a reply only
    rewrites the nested-set numbers of its own thread. Rows are written only through
    ``comments.services``.
    """

    Status = CommentStatus

    article = models.ForeignKey(
        "articles.Article",
        on_delete=models.CASCADE,
        related_name="comments",
        verbose_name=_("article"),
    )
    parent = TreeForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("in reply to"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="comments",
        verbose_name=_("user"),
    )
    author_name = models.CharField(_("name"), max_length=100, blank=True)
    author_email = models.EmailField(_("email"), blank=True, help_text=_("Never shown publicly."))
    body = models.TextField(_("body"), help_text=_("Markdown."))
    body_html = models.TextField(_("body as HTML"), editable=False)
    # A default rather than auto_now_add, so an import keeps the source's dates.
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    edited_at = models.DateTimeField(_("edited"), null=True, blank=True)
    deleted_at = models.DateTimeField(_("deleted by author"), null=True, blank=True, editable=False)
    # When the comment was first approved (posted so, or by an editor): a digest lists the
    # comments approved since the previous one (comments/digests.py).
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True, editable=False)
    status = models.CharField(
        _("status"), max_length=10, choices=Status, default=Status.APPROVED, db_index=True
    )
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    notify_replies = models.BooleanField(_("email the author about replies"), default=False)
    # Where an imported comment came from ("wordpress:<site>", "disqus", "threadline:<site>")
    # and its id there: an import recognizes what it already brought in.
    source = models.CharField(_("imported from"), max_length=255, blank=True, editable=False)
    source_id = models.CharField(_("id at the source"), max_length=100, blank=True, editable=False)
    # Votes and the order keys derived from them, kept in step with the Vote rows by
    # comments/votes.py in the vote's own transaction (``check_comment_trees`` compares).
    upvotes = models.PositiveIntegerField(_("upvotes"), default=0, editable=False)
    downvotes = models.PositiveIntegerField(_("downvotes"), default=0, editable=False)
    score = models.IntegerField(_("score"), default=0, editable=False)
    best = models.FloatField(_("best"), default=0.0, editable=False)
    controversy = models.FloatField(_("controversy"), default=0.0, editable=False)
    pinned = models.BooleanField(
        _("pinned"), default=False, help_text=_("Shown first, in every order (top level only).")
    )

    objects = CommentQuerySet.as_manager()

    class MPTTMeta:
        order_insertion_by = None

    class Meta:
        ordering = ["tree_id", "lft"]
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        permissions = [("can_moderate", _("Can moderate comments"))]
        indexes = [
            models.Index(fields=["article", "tree_id", "lft"], name="comment_thread_page_idx"),
            models.Index(fields=["status", "created_at"], name="comment_status_created_idx"),
            models.Index(
                fields=["approved_at"],
                condition=Q(approved_at__isnull=False),
                name="comment_approved_idx",
            ),
            # A page's top-level threads, and the numbering of a later page's first one.
            models.Index(
                fields=["article", "tree_id"],
                include=["lft", "rght", "status", "deleted_at"],
                condition=Q(level=0),
                name="comment_roots_idx",
            ),
            # "N responses".
            models.Index(fields=["article"], condition=visible_q(), name="comment_visible_idx"),
            # A page's threads in the ranked orders (comments/ordering.py).
            *(
                models.Index(
                    "article",
                    F("pinned").desc(),
                    F(key).desc(),
                    "tree_id",
                    condition=Q(level=0),
                    name=f"comment_roots_{key}_idx",
                )
                for key in ("score", "best", "controversy")
            ),
            # The duplicate check: a poster's latest comment, by account, email or address.
            models.Index(fields=["user", "-created_at"], name="comment_user_recent_idx"),
            models.Index(
                Upper("author_email"), F("created_at").desc(), name="comment_email_recent_idx"
            ),
            models.Index(
                fields=["ip_address", "-created_at"],
                condition=Q(user__isnull=True),
                name="comment_anon_ip_recent_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False) | ~Q(author_name=""),
                name="comment_has_author",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "approved", "spam", "removed"]),
                name="comment_status_valid",
            ),
            models.CheckConstraint(condition=Q(lft__lt=F("rght")), name="comment_lft_lt_rght"),
            models.UniqueConstraint(
                fields=["source", "source_id"],
                condition=~Q(source=""),
                name="comment_source_id_unique",
            ),
            models.CheckConstraint(
                condition=Q(score=F("upvotes") - F("downvotes")), name="comment_score_is_net"
            ),
            models.CheckConstraint(
                condition=Q(pinned=False) | Q(level=0), name="comment_pinned_top_level"
            ),
        ]

    def __str__(self):
        return f"{self.display_author}: {self.body[:60]}"

    def get_absolute_url(self):
        return reverse("comment_permalink", kwargs={"pk": self.pk})

    @property
    def display_author(self):
        if self.user_id:
            return self.user.get_username()
        return self.author_name

    @property
    def is_visible(self) -> bool:
        """``visible_q()`` for this row."""
        return self.status == CommentStatus.APPROVED and self.deleted_at is None

    @property
    def has_replies(self) -> bool:
        """``has_replies_q()`` for this row."""
        return self.rght - self.lft > 1

    @property
    def rendered_body(self):
        return sanitize(self.body_html)


class QueuedComment(Comment):
    """The moderation queue in the admin: the same comments, seen as work to do."""

    class Meta:
        proxy = True
        verbose_name = _("comment awaiting review")
        verbose_name_plural = _("moderation queue")

    def __str__(self):
        return super().__str__()


class Flag(models.Model):
    """A reader's report that a comment breaks the rules: one per reader per comment."""

    class Reason(models.TextChoices):
        SPAM = "spam", _("spam")
        ABUSE = "abuse", _("abusive or hateful")
        OFF_TOPIC = "off_topic", _("off-topic")
        OTHER = "other", _("something else")

    comment = models.ForeignKey(
        Comment, on_delete=models.CASCADE, related_name="flags", verbose_name=_("comment")
    )
    reporter = models.CharField(
        _("reporter"),
        max_length=100,
        help_text=_('"user:<id>" for an account, "ip:<keyed hash of the address>" without one.'),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        verbose_name=_("user"),
    )
    reason = models.CharField(_("reason"), max_length=20, choices=Reason)
    text = models.CharField(_("details"), max_length=500, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    created_at = models.DateTimeField(_("reported"), auto_now_add=True)
    reviewed = models.BooleanField(_("reviewed"), default=False)
    weight = models.PositiveIntegerField(
        _("weight"),
        default=0,
        help_text=_(
            "What the report counted toward hiding the comment when it was made "
            "(comments/reports.py): an editor's the whole threshold, a trusted account's 1, "
            "others 0."
        ),
    )

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        constraints = [
            models.UniqueConstraint(fields=["comment", "reporter"], name="one_flag_per_reader"),
        ]
        indexes = [models.Index(fields=["reviewed", "comment"], name="flag_open_idx")]

    def __str__(self):
        return _("%(reason)s on comment #%(pk)s") % {
            "reason": self.get_reason_display(),
            "pk": self.comment_id,
        }


class BanQuerySet(models.QuerySet):
    def active(self):
        """Bans in force: without an end, or ending later (``comments.votes`` asks the same
        in the SQL of a vote's first statement)."""
        from django.utils import timezone

        return self.filter(Q(until__isnull=True) | Q(until__gt=timezone.now()))

    def matching(self, *, user=None, email="", ip_address=None):
        """Active bans that apply to a poster with this account, email or address."""
        condition = Q(pk__in=[])
        if user is not None and user.is_authenticated:
            condition |= Q(user=user)
            if user.email:
                condition |= Q(email__iexact=user.email)
        if email:
            condition |= Q(email__iexact=email)
        if ip_address:
            condition |= Q(ip_address=ip_address)
        return self.active().filter(condition)


class Ban(models.Model):
    """Keeps an account, an email address or an IP address from posting, maybe until a date."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="comment_bans",
        verbose_name=_("user"),
    )
    email = models.EmailField(_("email"), blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    reason = models.CharField(
        _("reason"),
        max_length=200,
        blank=True,
        help_text=_("Shown to the banned reader when they try to post; leave empty for none."),
    )
    until = models.DateTimeField(_("until"), null=True, blank=True, help_text=_("Empty: for good."))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("banned by"),
    )

    objects = BanQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("ban")
        verbose_name_plural = _("bans")
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False) | ~Q(email="") | Q(ip_address__isnull=False),
                name="ban_names_someone",
            ),
        ]

    def __str__(self):
        who = self.user or self.email or self.ip_address
        return _("Ban of %(who)s") % {"who": who}

    def comments(self):
        """Every comment this ban's account, email or address has posted."""
        condition = Q(pk__in=[])
        if self.user_id:
            condition |= Q(user_id=self.user_id)
        if self.email:
            condition |= Q(author_email__iexact=self.email)
        if self.ip_address:
            condition |= Q(ip_address=self.ip_address)
        return Comment.objects.filter(condition)


class Vote(models.Model):
    """A reader's up or down vote on a comment: one per account, or for readers without
    one (``COMMENTS_ANONYMOUS_VOTES``) one per signed cookie and one per address.
    Written only through ``comments.votes``, which keeps the comment's counts in step."""

    class Value(models.IntegerChoices):
        UP = 1, _("up")
        DOWN = -1, _("down")

    comment = models.ForeignKey(
        Comment, on_delete=models.CASCADE, related_name="votes", verbose_name=_("comment")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="comment_votes",
        verbose_name=_("user"),
    )
    cookie = models.CharField(_("voter's cookie"), max_length=64, blank=True)
    address = models.CharField(
        _("voter's address"), max_length=64, blank=True, help_text=_("A keyed hash.")
    )
    value = models.SmallIntegerField(_("vote"), choices=Value)
    counted = models.BooleanField(
        _("counted"), default=True, help_text=_("Off: discounted by an editor (a banned voter).")
    )
    created_at = models.DateTimeField(_("voted"), default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("vote")
        verbose_name_plural = _("votes")
        # A reader without an account: is their page their own (selectors.has_personal_view)?
        indexes = [
            models.Index(fields=["cookie"], condition=Q(user__isnull=True), name="vote_cookie_idx")
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["comment", "user"],
                condition=Q(user__isnull=False),
                name="vote_one_per_account",
            ),
            models.UniqueConstraint(
                fields=["comment", "cookie"],
                condition=Q(user__isnull=True),
                name="vote_one_per_cookie",
            ),
            models.UniqueConstraint(
                fields=["comment", "address"],
                condition=Q(user__isnull=True),
                name="vote_one_per_address",
            ),
            models.CheckConstraint(condition=Q(value__in=[1, -1]), name="vote_value_valid"),
            models.CheckConstraint(
                condition=Q(user__isnull=False) | (~Q(cookie="") & ~Q(address="")),
                name="vote_names_a_voter",
            ),
        ]

    def __str__(self):
        return _("%(vote)s on comment #%(pk)s") % {
            "vote": self.get_value_display(),
            "pk": self.comment_id,
        }
