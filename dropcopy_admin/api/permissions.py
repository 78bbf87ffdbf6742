"""Who may call what: every role check, as DRF permission classes for the API and ``page_for``
for the portal's pages (one vocabulary).

A view declares its checks in ``permission_classes``; the handlers hold none. Two kinds:

- ``RoleSeesRows``: a role that may see none of the view's rows (``selectors.visibility``) is
  refused lists and creation, 403; its items then read as missing, 404 (the queryset's answer,
  or, with ``role_sees(…, missing=…)``, these words before the view looks for the item).
- ``roles_may(roles, action=refusal, …)``: the named actions are for ``roles`` only; anyone else
  is refused 403 with that action's words. On an item the check runs once the item is found, so
  an item the caller cannot see stays 404 rather than 403.

What depends on the object itself (may THIS client write for THIS entity, may THIS firm decide
THIS request) is the services' to decide, not these classes'.
"""

from collections.abc import Iterable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission, IsAuthenticated

from dropcopy_admin.choices import Role
from dropcopy_admin.errors import NotFound
from dropcopy_admin.selectors.visibility import role_of, visible

NO_ACCESS = "Your role has no access to this resource."

# Lists and creation are refused outright; every other action names an item.
COLLECTION_ACTIONS = ("list", "create")


class RoleSeesRows(BasePermission):
    """The caller's role may see some of ``view.model`` (or of ``model``, when given)."""

    model = None
    message = NO_ACCESS
    # When set, any other action of a role that sees none of the rows is answered 404 in these
    # words at once, whatever item it names (a view that finds its items by their path, not by id).
    missing: str | None = None

    def has_permission(self, request, view) -> bool:
        if getattr(view, "action", None) in COLLECTION_ACTIONS:
            return self._sees_rows(request, view)
        if self.missing is not None and not self._sees_rows(request, view):
            raise NotFound(self.missing)
        return True

    def _sees_rows(self, request, view) -> bool:
        return visible(request.user, self.model or view.model) is not None


def role_sees(model, *, refusal: str = NO_ACCESS, missing: str | None = None) -> type[RoleSeesRows]:
    """``RoleSeesRows`` over ``model`` rather than the view's own, refused in ``refusal``'s words
    (and, with ``missing``, its items answered 404 in those words for a role that sees none)."""
    attributes = {"model": model, "message": refusal, "missing": missing}
    return type(f"RoleSees{model.__name__}", (RoleSeesRows,), attributes)


class RolePermission(BasePermission):
    """The actions in ``refusals`` are for ``roles``; others are refused in the action's words."""

    roles: frozenset[str] = frozenset()
    refusals: dict[str, str] = {}

    def has_permission(self, request, view) -> bool:
        if getattr(view, "detail", False):
            return True  # decided on the item, once it is found
        return self._allows(request, view)

    def has_object_permission(self, request, view, obj) -> bool:
        return self._allows(request, view)

    def _allows(self, request, view) -> bool:
        refusal = self.refusals.get(getattr(view, "action", None))
        if refusal is None or role_of(request.user) in self.roles:
            return True
        self.message = refusal
        return False


def roles_may(roles: Iterable[str], **refusals: str) -> type[RolePermission]:
    """A permission class: each named action (``create=…``, ``partial_update=…``, ``verify=…``)
    is for ``roles`` only, and anyone else is refused with the words given for it."""
    roles = frozenset(roles)
    name = "".join(role.title().replace("_", "") for role in sorted(roles)) + "May"
    return type(name, (RolePermission,), {"roles": roles, "refusals": dict(refusals)})


def only_account_managers(**refusals: str) -> type[RolePermission]:
    """The named actions are for account managers only."""
    return roles_may({Role.ACCOUNT_MANAGER}, **refusals)


# What every viewset over visible rows starts from: a signed-in caller whose role sees the rows.
VISIBLE_ROWS = (IsAuthenticated, RoleSeesRows)


class RoleGate(RolePermission):
    """``RolePermission`` decided before the view reads its body or looks for its item: a role that
    never takes these actions is refused 403 whatever id it names."""

    def has_permission(self, request, view) -> bool:
        return self._allows(request, view)

    def has_object_permission(self, request, view, obj) -> bool:
        return True


def roles_gate(roles, **refusals: str) -> type[RoleGate]:
    """``permissions.roles_may``, refused before the item is looked up."""
    roles = frozenset(roles)
    name = "".join(role.title().replace("_", "") for role in sorted(roles)) + "Gate"
    return type(name, (RoleGate,), {"roles": roles, "refusals": dict(refusals)})


def page_for(role: str, refusal: str):
    """A portal page for ``role`` only: anonymous visitors go to the login page, every other role
    is refused 403 with ``refusal``."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if role_of(request.user) != role:
                raise PermissionDenied(refusal)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
