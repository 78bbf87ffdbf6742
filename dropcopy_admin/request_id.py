"""Request ids (R18): taken from ``X-Request-ID`` or generated, returned on the response, written
into every audit row and log line, and carried into the Celery tasks a request queues."""

import contextvars
import logging
import re
import uuid

from celery.signals import before_task_publish, task_postrun, task_prerun

REQUEST_ID_HEADER = "X-Request-ID"
TASK_HEADER = "dropcopy_request_id"
_ACCEPTABLE = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")

current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def get_request_id() -> str | None:
    return current_request_id.get()


class RequestIdMiddleware:
    """Bind a request id to the request for its whole duration."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        offered = request.headers.get(REQUEST_ID_HEADER, "")
        # fullmatch: ``$`` would let a trailing newline through, and echoing it back is a 500.
        request_id = offered if _ACCEPTABLE.fullmatch(offered) else new_request_id()
        request.request_id = request_id
        token = current_request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get() or "-"
        return True


@before_task_publish.connect
def _stamp_request_id_on_task(headers=None, **_kwargs):
    request_id = current_request_id.get()
    if headers is not None and request_id:
        headers[TASK_HEADER] = request_id


_task_tokens: dict[str, contextvars.Token] = {}


@task_prerun.connect
def _bind_request_id_in_task(task_id=None, task=None, **_kwargs):
    request_id = getattr(task.request, TASK_HEADER, None) if task is not None else None
    if request_id is None and task is not None:
        request_id = (task.request.headers or {}).get(TASK_HEADER) if task.request.headers else None
    if request_id:
        _task_tokens[task_id] = current_request_id.set(request_id)


@task_postrun.connect
def _unbind_request_id_in_task(task_id=None, **_kwargs):
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        current_request_id.reset(token)
