"""Template helpers of the portal pages."""

import datetime as dt

from django import template
from django.urls import reverse
from django.utils.formats import date_format

from dropcopy_admin.choices import Role
from dropcopy_admin.selectors.visibility import role_of

register = template.Library()


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


@register.simple_tag
def age(since: dt.datetime, now: dt.datetime) -> str:
    """How long ago ``since`` was, in its largest whole unit: "3 days", "5 hours", "under a minute"."""
    elapsed = max(now - since, dt.timedelta(0))
    if elapsed.days:
        return _plural(elapsed.days, "day")
    if elapsed.seconds >= 3600:
        return _plural(elapsed.seconds // 3600, "hour")
    if elapsed.seconds >= 60:
        return _plural(elapsed.seconds // 60, "minute")
    return "under a minute"


@register.filter
def utc(moment: dt.datetime) -> str:
    return date_format(moment.astimezone(dt.UTC), "Y-m-d H:i") + " UTC"


@register.simple_tag
def role_label(user) -> str:
    """The user's role as people read it, with the firm or entity it is scoped to."""
    role = role_of(user)
    if role is None:
        return ""
    scope = {Role.CLEARING_FIRM: user.clearing_firm, Role.CLIENT: user.entity}.get(role)
    return f"{Role(role).label}, {scope}" if scope is not None else Role(role).label


@register.simple_tag
def user_role(user) -> str:
    """The user's effective role code ("" for anonymous), for choosing what the layout offers."""
    return role_of(user) or ""


@register.inclusion_tag("portal/includes/nav_link.html", takes_context=True)
def nav_link(context, url_name: str, label: str) -> dict:
    """One entry of the main navigation, marked as the current page when the request is under it."""
    request = context["request"]
    url = reverse(url_name)
    home = reverse("portal:home")
    current = request.path == url if url == home else request.path.startswith(url)
    return {"url": url, "label": label, "current": current}
