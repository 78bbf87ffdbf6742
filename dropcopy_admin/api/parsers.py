"""The API's one JSON parser: malformed JSON, nesting deeper than any body needs included, is 400
``invalid`` (api-contract.md, "Error codes"), never a ``RecursionError``."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_JSON_DEPTH = 32


def _depth_exceeds(document, limit: int) -> bool:
    """Whether arrays and objects nest more than ``limit`` deep, walked without recursion."""
    pending = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


class DepthLimitedJSONParser(JSONParser):
    """DRF's JSON parser, refusing documents nested more than ``MAX_JSON_DEPTH`` deep."""

    max_depth = MAX_JSON_DEPTH

    def parse(self, stream, media_type=None, parser_context=None):
        too_deep = ParseError(f"JSON parse error - nested more than {self.max_depth} levels deep.")
        try:
            document = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise too_deep from None
        if _depth_exceeds(document, self.max_depth):
            raise too_deep
        return document
