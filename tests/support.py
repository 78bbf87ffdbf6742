"""Assertions shared by the API tests: the error envelope of api-contract.md."""


def assert_error(response, status: int, code: str) -> dict:
    """The answer is ``status`` with ``{"code": code, "detail": …}`` (+ ``errors`` for ``invalid``)."""
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code, body
    assert isinstance(body["detail"], str) and body["detail"]
    if code == "invalid":
        assert isinstance(body["errors"], dict) and body["errors"], body
    return body


def assert_invalid(response, *fields: str) -> dict:
    """A 400 ``invalid`` naming each of ``fields`` in ``errors``."""
    body = assert_error(response, 400, "invalid")
    for name in fields:
        assert body["errors"][name], body
    return body


def downloaded(response) -> bytes:
    """The whole body of a download, streamed (a draft's export) or not (a closed run's stored bytes)."""
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content
