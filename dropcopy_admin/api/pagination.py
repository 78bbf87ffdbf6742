from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination


class StrictPageNumberPagination(PageNumberPagination):
    """``?page=N&page_size=N`` (default 50, clamped to 1,000); malformed values are 400 ``invalid``."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 1000

    def _positive_int(self, request, name):
        raw = request.query_params.get(name)
        if raw is None:
            return None
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if value < 1:
            raise ValidationError({name: ["A positive whole number is required."]})
        return value

    def get_page_size(self, request):
        size = self._positive_int(request, self.page_size_query_param)
        return self.page_size if size is None else min(size, self.max_page_size)

    def paginate_queryset(self, queryset, request, view=None):
        self._positive_int(request, self.page_query_param)
        try:
            return super().paginate_queryset(queryset, request, view)
        except NotFound as exc:
            raise NotFound("That page does not exist.") from exc
