from django.apps import AppConfig
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.signals import m2m_changed, post_migrate, post_save, pre_delete
from django.utils.translation import gettext_lazy as _


class CommentsConfig(AppConfig):
    name = "comments"
    verbose_name = _("Comments")

    def ready(self):
        from django.core import checks

        from comments import digests, roles, services, votes
        from comments.checks import check_default_order, check_rate_settings
        from core import daily

        checks.register(check_rate_settings)
        checks.register(check_default_order)
        # The workers enqueue these once a day (core/daily.py).
        daily.register("comments.digests", digests.send_digests)
        daily.register("comments.moderator_digest", digests.send_moderator_digest)

        def editors_group(sender, **kwargs):
            roles.ensure_editors_group()

        def keep_author_name(sender, instance, **kwargs):
            services.comments_keep_author_name(user=instance)
            # The account's votes go with it: recount what they were on once they have.
            voted = list(instance.comment_votes.values_list("comment_id", flat=True))
            if voted:
                transaction.on_commit(lambda: votes.votes_recount(pks=voted))

        def author_changed(sender, instance, action="post_", update_fields=None, **kwargs):
            if not action.startswith("post_") or not isinstance(instance, get_user_model()):
                return
            if update_fields is not None and not {"username", "is_superuser"} & update_fields:
                return  # e.g. last_login on every log-in: nothing the page draws
            services.comments_author_changed(user=instance)

        # Joining or leaving Editors, becoming a superuser or being renamed changes how the
        # account's comments are drawn (the Editor badge, the name).
        m2m_changed.connect(
            author_changed,
            sender=get_user_model().groups.through,
            weak=False,
            dispatch_uid="comments.author_groups_changed",
        )
        post_save.connect(
            author_changed,
            sender=settings.AUTH_USER_MODEL,
            weak=False,
            dispatch_uid="comments.author_saved",
        )
        pre_delete.connect(
            keep_author_name,
            sender=settings.AUTH_USER_MODEL,
            weak=False,
            dispatch_uid="comments.keep_author_name",
        )
        post_migrate.connect(editors_group, sender=self, dispatch_uid="comments.editors_group")
