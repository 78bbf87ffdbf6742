"""Users, their roles, and API tokens (only a digest of a token is stored)."""

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from http import HTTPStatus

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest

from dropcopy_admin import clock, errors
from dropcopy_admin.choices import Role
from dropcopy_admin.models import ApiToken, ClearingFirm, Entity, User

from .audit import Actor, audit_record, snapshot
from .common import check_names, check_text, require_account_manager, save_unique

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
    """Set a user's password, or with ``None`` turn password login off (account managers); every
    API token of the user ends with the old password.

    Audited as ``set_password`` with the user as it stands: the hash is never recorded.
    """
    require_account_manager(actor, doing="manage users")
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        # Before the save, so the trail names who changed the password (PasswordChangeEndsApiTokens
        # would name the user) as the one who ended the tokens.
        api_tokens_revoke_all(actor=actor, user=user)
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


# What a token issued by auth/token/ (a logon with a password) is called when it is given no name.
LOGON_TOKEN_NAME = "Logon token"


class LogonsThrottled(errors.DomainError):
    """429 ``throttled``: too many failed logons for this username or from this address."""

    code = "throttled"
    status = HTTPStatus.TOO_MANY_REQUESTS

    def __init__(self):
        self.retry_after = logon_lockout_seconds()
        minutes = -(-self.retry_after // 60)
        super().__init__(f"Too many failed logons; try again in {minutes} minutes.")


def logon_lockout_seconds() -> int:
    """How long a username or an address waits after its last failed logon once locked out."""
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


def _token_lifetime(lifetime_days: int | None) -> dt.timedelta:
    longest = settings.DROPCOPY["API_TOKEN_MAX_LIFETIME_DAYS"]
    days = settings.DROPCOPY["API_TOKEN_LIFETIME_DAYS"] if lifetime_days is None else lifetime_days
    if not 1 <= days <= longest:
        raise errors.InvalidInput.field("lifetime_days", f"A token lives from 1 to {longest} days.")
    return dt.timedelta(days=days)


@dataclass(frozen=True)
class IssuedToken:
    """A new token: ``token`` is shown once and never stored, ``api_token`` is what is kept."""

    token: str
    api_token: ApiToken


def api_token_issue(*, user: User, name: str, lifetime_days: int | None = None) -> IssuedToken:
    """A new named token for ``user``, ending after ``lifetime_days`` (DROPCOPY
    ``API_TOKEN_LIFETIME_DAYS`` when not given); audited as ``create`` (never the token or its digest)."""
    check_text("name", name)
    lifetime = _token_lifetime(lifetime_days)
    token = secrets.token_urlsafe(32)
    now = clock.now()
    with transaction.atomic():
        api_token = ApiToken.objects.create(
            user=user, name=name, digest=_digest(token), created_at=now, expires_at=now + lifetime
        )
        audit_record(actor=user, action="create", instance=api_token)
    return IssuedToken(token=token, api_token=api_token)


def api_token_create(
    *,
    username: str,
    password: str,
    request: HttpRequest | None = None,
    name: str = LOGON_TOKEN_NAME,
    lifetime_days: int | None = None,
) -> str:
    """Issue a new token for valid credentials; the token itself is never stored.

    With the ``request``, the logon counts towards the throttle on failed logons (django-axes):
    once a username or an address is locked out, even the right password is refused
    (``LogonsThrottled``) until it has waited.
    """
    user = authenticate(request, username=username, password=password)
    if user is None and getattr(request, "axes_locked_out", False):
        raise LogonsThrottled()
    if user is None or not user.is_active:
        raise errors.InvalidInput(
            "Unable to log in with the given username and password.",
            code="invalid_credentials",
        )
    return api_token_issue(user=user, name=name, lifetime_days=lifetime_days).token


def _note_use(api_token: ApiToken, now: dt.datetime) -> None:
    """Keep ``last_used_at``, written at most once per DROPCOPY ``API_TOKEN_LAST_USED_RESOLUTION_SECONDS``
    (not on every request); the conditional update keeps concurrent requests from writing it twice."""
    resolution = dt.timedelta(seconds=settings.DROPCOPY["API_TOKEN_LAST_USED_RESOLUTION_SECONDS"])
    if api_token.last_used_at is not None and now - api_token.last_used_at < resolution:
        return
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - resolution)
    ApiToken.objects.filter(stale, pk=api_token.pk).update(last_used_at=now)


def api_token_user(*, token: str) -> User | None:
    """The active user a working token (not revoked, not expired) belongs to, or ``None``."""
    match = ApiToken.objects.select_related("user").filter(digest=_digest(token)).first()
    now = clock.now()
    if match is None or not match.works_at(now):
        return None
    _note_use(match, now)
    return match.user


def _revoke(*, actor: Actor, api_token: ApiToken, at: dt.datetime) -> None:
    before = snapshot(api_token)
    api_token.revoked_at = at
    api_token.save(update_fields=["revoked_at"])
    audit_record(actor=actor, action="revoke", instance=api_token, before=before, after=snapshot(api_token))


def api_token_revoke(*, actor: User, api_token: ApiToken) -> ApiToken:
    """End a token (its owner only; anyone else is told it does not exist). Revoking a revoked
    token changes nothing."""
    if api_token.user_id != actor.pk:
        raise errors.NotFound("No such API token.")
    with transaction.atomic():
        api_token = ApiToken.objects.select_for_update().get(pk=api_token.pk)
        if api_token.revoked_at is None:
            _revoke(actor=actor, api_token=api_token, at=clock.now())
    return api_token


def api_tokens_revoke_all(*, actor: Actor, user: User) -> int:
    """End every token of ``user`` not yet revoked (a password change); how many were ended."""
    with transaction.atomic():
        now = clock.now()
        live = list(ApiToken.objects.select_for_update().filter(user=user, revoked_at__isnull=True))
        for api_token in live:
            _revoke(actor=actor, api_token=api_token, at=now)
    return len(live)


class PasswordChangeEndsApiTokens:
    """A password validator that checks nothing: Django tells it of every password change
    (``password_changed``, after ``set_password`` and ``save``), from ``user_set_password``,
    the admin's and the portal's password change pages and a password reset alike, and it ends
    the user's API tokens (recorded as done by the user)."""

    def validate(self, password, user=None) -> None:
        return None

    def password_changed(self, password, user=None) -> None:
        if user is not None and user.pk is not None:
            api_tokens_revoke_all(actor=user, user=user)

    def get_help_text(self) -> str:
        return "Changing the password ends every API token of the user."


def user_password_reset_mail_claim(*, user: User) -> bool:
    """Whether a password-reset mail may go to ``user`` now: at most one per DROPCOPY
    ``PASSWORD_RESET_MAIL_INTERVAL_MINUTES``. A yes claims the slot (a conditional update, so two
    requests at once cannot both send)."""
    now = clock.now()
    interval = dt.timedelta(minutes=settings.DROPCOPY["PASSWORD_RESET_MAIL_INTERVAL_MINUTES"])
    due = Q(password_reset_mailed_at__isnull=True) | Q(password_reset_mailed_at__lte=now - interval)
    return User.objects.filter(due, pk=user.pk).update(password_reset_mailed_at=now) == 1
