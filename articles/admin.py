from django.contrib import admin

from articles.models import Article


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["title", "byline", "source", "published_at", "comments_open", "responses"]
    list_filter = ["comments_open", "published_at", "source"]
    search_fields = ["title", "body", "byline"]
    prepopulated_fields = {"slug": ["title"]}
    date_hierarchy = "published_at"

    def get_queryset(self, request):
        return super().get_queryset(request).with_response_counts()

    @admin.display(description="responses", ordering="response_count")
    def responses(self, obj):
        return obj.response_count
