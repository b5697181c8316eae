from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import pre_delete


class CommentsConfig(AppConfig):
    name = "comments"
    verbose_name = "Comments"

    def ready(self):
        from comments import services

        def keep_author_name(sender, instance, **kwargs):
            services.comments_keep_author_name(user=instance)

        pre_delete.connect(
            keep_author_name,
            sender=settings.AUTH_USER_MODEL,
            weak=False,
            dispatch_uid="comments.keep_author_name",
        )
