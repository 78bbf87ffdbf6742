"""The domain's errors: one small tree, each with a stable ``code`` that the API maps to a status.

Services raise these; the API exception handler turns them into ``{"code", "detail"}``.
"""

from http import HTTPStatus


class DomainError(Exception):
    """A refusal with a stable code (the table in api-contract.md)."""

    code = "invalid"
    status = HTTPStatus.BAD_REQUEST

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        errors: dict[str, list[str]] | None = None,
    ):
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.errors = errors

    @property
    def for_people(self) -> str:
        """The refusal as pages show it: its sentences, without the code or the field names the API gives."""
        field_messages = [
            message for messages_of_field in (self.errors or {}).values() for message in messages_of_field
        ]
        return " ".join(field_messages) if field_messages else self.detail

    def as_dict(self) -> dict:
        body = {"code": self.code, "detail": self.detail}
        if self.errors:
            body["errors"] = self.errors
        return body


class InvalidInput(DomainError):
    """400 ``invalid``; ``errors`` names the fields at fault."""

    code = "invalid"

    @classmethod
    def field(cls, field: str, message: str) -> "InvalidInput":
        return cls(f"{field}: {message}", errors={field: [message]})


class BadRequest(DomainError):
    """A 400 with its own code (venue_not_supported, sender_comp_id_mismatch, …)."""

    status = HTTPStatus.BAD_REQUEST


class Conflict(DomainError):
    """A 409: the request is well formed but the state of things refuses it."""

    status = HTTPStatus.CONFLICT


class PermissionDenied(DomainError):
    code = "permission_denied"
    status = HTTPStatus.FORBIDDEN


class NotFound(DomainError):
    code = "not_found"
    status = HTTPStatus.NOT_FOUND


def venue_not_supported(value) -> BadRequest:
    return BadRequest(
        f"Venue {value!r} is not supported on Drop Copy; supported venues are CME, BROKERTEC and EBS.",
        code="venue_not_supported",
    )


def gateway_type_not_supported(venue: str, gateway_type: str) -> BadRequest:
    return BadRequest(
        f"{venue} does not offer {gateway_type} sessions.",
        code="gateway_type_not_supported",
    )


def already_exists(detail: str) -> Conflict:
    return Conflict(detail, code="already_exists")


def invalid_transition(detail: str) -> Conflict:
    return Conflict(detail, code="invalid_transition")


def group_closed(detail: str = "This group is closed; no session can be added.") -> Conflict:
    return Conflict(detail, code="group_closed")


def duplicate_membership(sender_comp_id: str) -> Conflict:
    return Conflict(
        f"Session {sender_comp_id} already has a pending or approved membership in this group.",
        code="duplicate_membership",
    )


def sender_comp_id_mismatch(detail: str) -> BadRequest:
    return BadRequest(detail, code="sender_comp_id_mismatch")
