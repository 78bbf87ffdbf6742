"""The user of the request being served, on every log line of it (production's JSON logs).

``RequestLogContextMiddleware`` keeps the request in a context variable; ``UserLogFilter`` adds
``user`` (the username) to a record when the request's user is already known — it never makes a
query of its own to find out — and leaves a ``user`` a log call passes as it is.
"""

import contextvars
import logging

from django.utils.functional import SimpleLazyObject, empty

current_request: contextvars.ContextVar = contextvars.ContextVar("log_request", default=None)


class RequestLogContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            current_request.reset(token)


def _known_username(request) -> str | None:
    user = request.__dict__.get("user")  # set by AuthenticationMiddleware, and by DRF's authentication
    if user is None or (isinstance(user, SimpleLazyObject) and user._wrapped is empty):
        return None
    return user.get_username() if user.is_authenticated else None


class UserLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        request = current_request.get()
        if request is not None and not hasattr(record, "user"):
            username = _known_username(request)
            if username:
                record.user = username
        return True
