from django.urls import path

from articles import views

urlpatterns = [
    path("", views.article_list, name="home"),
    path("articles/<slug:slug>/", views.article_detail, name="article_detail"),
]
