from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.markup import render_article, sanitize


def published_q(prefix: str = "") -> Q:
    """The one definition of a *published* article: its publication time has come.
    ``prefix`` reaches it through a relation (``published_q("article__")`` on comments)."""
    return Q(**{f"{prefix}published_at__lte": timezone.now()})


class ArticleQuerySet(models.QuerySet):
    def published(self):
        return self.filter(published_q())


class Article(models.Model):
    class Moderation(models.TextChoices):
        SITE = "", _("as the site is set (COMMENTS_MODERATION)")
        NONE = "none", _("publish at once")
        ALL = "all", _("hold every comment for approval")
        ANONYMOUS = "anonymous", _("hold comments from readers without an account")

    title = models.CharField(_("title"), max_length=300)
    slug = models.SlugField(_("slug"), max_length=200, unique=True)
    byline = models.CharField(_("byline"), max_length=200, blank=True)
    source = models.CharField(
        _("source"), max_length=200, blank=True, help_text=_('For example "Informed Comment".')
    )
    body = models.TextField(_("body"), help_text=_("Markdown."))
    source_url = models.URLField(
        _("original URL"),
        max_length=500,
        blank=True,
        help_text=_("Where an imported discussion was first published; imports match on it."),
    )
    body_html = models.TextField(_("body as HTML"), editable=False, default="")
    published_at = models.DateTimeField(_("published"), default=timezone.now, db_index=True)
    comments_open = models.BooleanField(_("comments open"), default=True)
    discussion_version = models.PositiveBigIntegerField(
        _("discussion version"),
        default=0,
        editable=False,
        help_text=_("Grows with every change to the discussion: keys its cached pages."),
    )
    votes_stamp = models.PositiveBigIntegerField(
        _("votes stamp"),
        default=0,
        editable=False,
        help_text=_(
            "The refresh slot of the latest vote (COMMENTS_SCORE_REFRESH_SECONDS): scores "
            "on cached pages follow it, at most once a slot."
        ),
    )
    moderation = models.CharField(
        _("moderation"), max_length=10, choices=Moderation, default=Moderation.SITE, blank=True
    )

    objects = ArticleQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-pk"]
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        constraints = [
            models.UniqueConstraint(
                fields=["source_url"], condition=~Q(source_url=""), name="article_source_url_unique"
            )
        ]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        self.body_html = render_article(self.body)
        if kwargs.get("update_fields") is not None and "body" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "body_html"}
        if not self._state.adding:
            # The discussion shows whether comments are open: its cached pages must go.
            # Incremented in SQL, so a stale instance never writes back an older version.
            self.discussion_version = F("discussion_version") + 1
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "discussion_version"}
        super().save(*args, **kwargs)
        if not isinstance(self.discussion_version, int):
            self.refresh_from_db(fields=["discussion_version"])

    def get_absolute_url(self):
        return reverse("article_detail", kwargs={"slug": self.slug})

    @classmethod
    def discussion_changed(cls, article_id: int) -> None:
        """Make cached pages of this article's discussion stale.

        Called by every write to the discussion as its last statement, inside the writer's
        transaction: the new version commits with the write, or neither does.
        """
        cls.objects.filter(pk=article_id).update(discussion_version=F("discussion_version") + 1)

    @property
    def is_published(self) -> bool:
        """``published_q()`` for this row: its publication time has come."""
        return self.published_at <= timezone.now()

    @property
    def accepts_comments(self) -> bool:
        """Open, and not past COMMENTS_CLOSE_AFTER_DAYS since publication (when that is set)."""
        if not self.comments_open:
            return False
        days = settings.COMMENTS_CLOSE_AFTER_DAYS
        return not days or timezone.now() < self.published_at + timedelta(days=days)

    @property
    def rendered_body(self):
        return sanitize(self.body_html, article=True)
