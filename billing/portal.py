"""Portal pages: statements (being built)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import path


@login_required
def statements_page(request):
    return render(request, "portal/being_built.html", {"title": "Statements"})


urlpatterns = [
    path("statements/", statements_page, name="statements"),
]
