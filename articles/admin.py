from django.contrib import admin

from articles.models import Article


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["title", "byline", "source", "published_at", "comments_open"]
    list_filter = ["comments_open", "published_at", "source"]
    search_fields = ["title", "body", "byline"]
    prepopulated_fields = {"slug": ["title"]}
    date_hierarchy = "published_at"
