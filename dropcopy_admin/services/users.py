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

from .audit import Actor, audit_record
from .common import require_account_manager, save_unique

FINANCE_GROUP = "finance"


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
    user = User(
        username=username,
        email=email,
        role=role,
        clearing_firm=clearing_firm,
        entity=entity,
        is_superuser=role == Role.ACCOUNT_MANAGER,
        is_staff=role in (Role.ACCOUNT_MANAGER, Role.FINANCE),
    )
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise errors.InvalidInput("The password is too weak.", errors={"password": list(exc.messages)}) from exc
    user.set_password(password)

    def taken():
        return errors.already_exists(f"The username {username!r} is taken.")

    with transaction.atomic():
        if User.objects.filter(username=username).exists():
            raise taken()
        save_unique(user, on_conflict=taken)
        if role == Role.FINANCE:
            finance, _ = Group.objects.get_or_create(name=FINANCE_GROUP)
            user.groups.add(finance)
        audit_record(actor=actor, action="create", instance=user)
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
