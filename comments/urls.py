from django.urls import path

from comments import following, live, pages, views, vote_views
from comments.feeds import ArticleCommentsFeed, SiteCommentsFeed

urlpatterns = [
    path("", pages.article_list, name="home"),
    path("articles/<slug:slug>/", pages.article_detail, name="article_detail"),
    path("articles/<slug:slug>/comments/", views.comment_post, name="comment_post"),
    path("articles/<slug:slug>/comments/new/", live.comments_new, name="comments_new"),
    path("articles/<slug:slug>/feed/", ArticleCommentsFeed(), name="article_feed"),
    path("articles/<slug:slug>/follow/", following.article_follow, name="article_follow"),
    path("notifications/", following.notifications, name="notifications"),
    path(
        "notifications/<str:token>/",
        following.manage_notifications,
        name="manage_notifications",
    ),
    path("unsubscribe/<str:token>/", following.unsubscribe, name="unsubscribe"),
    path("feeds/comments/", SiteCommentsFeed(), name="comments_feed"),
    path("comments/<int:pk>/", pages.comment_permalink, name="comment_permalink"),
    path("comments/<int:pk>/thread/", pages.comment_subtree, name="comment_thread"),
    path("comments/<int:pk>/reply/", pages.reply_form, name="comment_reply_form"),
    path("comments/<int:pk>/report/", views.comment_report, name="comment_report"),
    path("comments/<int:pk>/edit/", views.comment_edit, name="comment_edit"),
    path("comments/<int:pk>/delete/", views.comment_delete, name="comment_delete"),
    path("comments/<int:pk>/vote/", vote_views.comment_vote, name="comment_vote"),
    path("comments/<int:pk>/pin/", vote_views.comment_pin, name="comment_pin"),
]
