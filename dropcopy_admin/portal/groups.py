"""Portal pages: groups (being built)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import path


@login_required
def groups_page(request):
    return render(request, "portal/being_built.html", {"title": "Groups"})


urlpatterns = [
    path("groups/", groups_page, name="groups"),
]
