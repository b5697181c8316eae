from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_migrate, pre_delete


class CommentsConfig(AppConfig):
    name = "comments"
    verbose_name = "Comments"

    def ready(self):
        from comments import roles, services

        def editors_group(sender, **kwargs):
            roles.ensure_editors_group()

        def keep_author_name(sender, instance, **kwargs):
            services.comments_keep_author_name(user=instance)

        pre_delete.connect(
            keep_author_name,
            sender=settings.AUTH_USER_MODEL,
            weak=False,
            dispatch_uid="comments.keep_author_name",
        )
        post_migrate.connect(editors_group, sender=self, dispatch_uid="comments.editors_group")
