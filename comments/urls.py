from django.urls import path

from comments import views

urlpatterns = [
    path("articles/<slug:slug>/comments/", views.comment_post, name="comment_post"),
    path("comments/<int:pk>/", views.comment_permalink, name="comment_permalink"),
    path("comments/<int:pk>/thread/", views.comment_thread, name="comment_thread"),
    path("comments/<int:pk>/reply/", views.reply_form, name="comment_reply_form"),
    path("comments/<int:pk>/report/", views.comment_report, name="comment_report"),
    path("comments/<int:pk>/edit/", views.comment_edit, name="comment_edit"),
    path("comments/<int:pk>/delete/", views.comment_delete, name="comment_delete"),
]
