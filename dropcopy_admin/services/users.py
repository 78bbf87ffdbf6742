"""Users, their roles, and API tokens (only a digest of a token is stored)."""

import hashlib
import secrets

from django.contrib.auth import authenticate
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from dropcopy_admin import clock, errors
from dropcopy_admin.choices import Role
from dropcopy_admin.models import ApiToken, ClearingFirm, Entity, User

from .audit import Actor, audit_record, snapshot
from .common import check_names, require_account_manager, save_unique

FINANCE_GROUP = "finance"


def check_role_links(*, role: str, clearing_firm: ClearingFirm | None, entity: Entity | None) -> None:
    """The links each role needs, and only those."""
    if role == Role.CLEARING_FIRM and clearing_firm is None:
        raise errors.InvalidInput.field("clearing_firm", "A clearing firm administrator belongs to a clearing firm.")
    if role == Role.CLIENT and entity is None:
        raise errors.InvalidInput.field("entity", "A client administrator belongs to an entity.")
    if role != Role.CLEARING_FIRM and clearing_firm is not None:
        raise errors.InvalidInput.field(
            "clearing_firm",
            "Only clearing firm administrators belong to a clearing firm.",
        )
    if role != Role.CLIENT and entity is not None:
        raise errors.InvalidInput.field("entity", "Only client administrators belong to an entity.")


def _set_role_flags(user: User) -> None:
    """Account managers are superusers; account managers and finance are staff."""
    user.is_superuser = user.role == Role.ACCOUNT_MANAGER
    user.is_staff = user.role in (Role.ACCOUNT_MANAGER, Role.FINANCE)


def _keep_finance_group(user: User) -> None:
    """Finance users, and only they, are in the ``finance`` permission group."""
    finance, _ = Group.objects.get_or_create(name=FINANCE_GROUP)
    if user.role == Role.FINANCE:
        user.groups.add(finance)
    else:
        user.groups.remove(finance)


def _checked_password(password: str, user: User) -> str:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise errors.InvalidInput("The password is too weak.", errors={"password": list(exc.messages)}) from exc
    return password


# What a person types about a user, shown on pages and in the audit trail.
_TYPED_USER_FIELDS = ("username", "first_name", "last_name", "email")


def _username_taken(username: str):
    return lambda: errors.already_exists(f"The username {username!r} is taken.")


def user_create(
    *,
    actor: Actor,
    username: str,
    password: str,
    role: str,
    email: str = "",
    clearing_firm: ClearingFirm | None = None,
    entity: Entity | None = None,
) -> User:
    require_account_manager(actor, doing="manage users")
    check_names({"username": username, "email": email}, *_TYPED_USER_FIELDS)
    check_role_links(role=role, clearing_firm=clearing_firm, entity=entity)
    user = User(username=username, email=email, role=role, clearing_firm=clearing_firm, entity=entity)
    _set_role_flags(user)
    user.set_password(_checked_password(password, user))

    with transaction.atomic():
        if User.objects.filter(username=username).exists():
            raise _username_taken(username)()
        save_unique(user, on_conflict=_username_taken(username))
        if role == Role.FINANCE:
            _keep_finance_group(user)
        audit_record(actor=actor, action="create", instance=user)
    return user


# What an account manager may change on a user; the password has its own service.
USER_CHANGEABLE = frozenset(
    {"username", "first_name", "last_name", "email", "role", "clearing_firm", "entity", "is_active"}
)


def user_update(*, actor: Actor, user: User, **changes) -> User:
    """Change a user (account managers): the role's links checked as on creation, superuser and
    staff kept in step with the role, the ``finance`` group too; audited before and after (never
    the password hash)."""
    require_account_manager(actor, doing="manage users")
    unknown = sorted(set(changes) - USER_CHANGEABLE)
    if unknown:
        raise TypeError(f"user_update() cannot change {', '.join(unknown)}")
    check_names(changes, *_TYPED_USER_FIELDS)
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        before = snapshot(user)
        for name, value in changes.items():
            setattr(user, name, value)
        check_role_links(role=user.role, clearing_firm=user.clearing_firm, entity=user.entity)
        _set_role_flags(user)
        username = user.username
        if User.objects.filter(username=username).exclude(pk=user.pk).exists():
            raise _username_taken(username)()
        after = snapshot(user)
        if after != before:
            save_unique(user, on_conflict=_username_taken(username))
            if before["role"] != user.role:
                _keep_finance_group(user)
            audit_record(actor=actor, action="update", instance=user, before=before, after=after)
    return user


def user_set_password(*, actor: Actor, user: User, password: str | None) -> User:
    """Set a user's password, or with ``None`` turn password login off (account managers).

    Audited as ``set_password`` with the user as it stands: the hash is never recorded.
    """
    require_account_manager(actor, doing="manage users")
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if password is None:
            user.set_unusable_password()
        else:
            user.set_password(_checked_password(password, user))
        user.save(update_fields=["password"])
        state = snapshot(user)
        audit_record(actor=actor, action="set_password", instance=user, before=state, after=state)
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def api_token_create(*, username: str, password: str) -> str:
    """Issue a new token for valid credentials; the token itself is never stored."""
    user = authenticate(username=username, password=password)
    if user is None or not user.is_active:
        raise errors.InvalidInput(
            "Unable to log in with the given username and password.",
            code="invalid_credentials",
        )
    token = secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, digest=_digest(token), created_at=clock.now())
    return token


def api_token_user(*, token: str) -> User | None:
    """The active user a token belongs to, or ``None``."""
    match = ApiToken.objects.select_related("user").filter(digest=_digest(token)).first()
    if match is None or not match.user.is_active:
        return None
    return match.user
