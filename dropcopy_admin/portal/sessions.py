"""Portal pages: sessions (being built)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import path


@login_required
def sessions_page(request):
    return render(request, "portal/being_built.html", {"title": "Sessions"})


urlpatterns = [
    path("sessions/", sessions_page, name="sessions"),
]
