from django.urls import path

from subscriptions import views

urlpatterns = [
    path("confirm/<str:token>/", views.confirm_address, name="confirm_address"),
]
