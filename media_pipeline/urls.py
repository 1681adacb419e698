from django.urls import path

from media_pipeline import views

urlpatterns = [
    path("", views.home, name="home"),
    path("watch/<int:video_id>", views.watch, name="watch"),
    path("studio/", views.studio, name="studio"),
    path("signin/", views.signin, name="signin"),
    path("signout/", views.signout, name="signout"),
]
