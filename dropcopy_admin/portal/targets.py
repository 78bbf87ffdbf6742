"""Portal pages: targets (being built)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import path


@login_required
def targets_page(request):
    return render(request, "portal/being_built.html", {"title": "Targets"})


urlpatterns = [
    path("targets/", targets_page, name="targets"),
]
