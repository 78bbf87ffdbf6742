"""Portal pages: My Requests and the clearing firm's decision history (being built)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def my_requests_page(request):
    return render(request, "portal/being_built.html", {"title": "My requests"})


@login_required
def decision_history_page(request):
    return render(request, "portal/being_built.html", {"title": "Decision history"})
