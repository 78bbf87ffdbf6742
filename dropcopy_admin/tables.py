"""A table any portal page may use: columns declared once, filtered and sorted from the query string,
paginated, and exported (CSV, XLSX) with exactly the rows the page shows.

A page declares its ``Column``s and hands a queryset to ``Table``. The query string is read into a
Django form built from the columns: a text filter is "contains" (case-insensitive), a choice filter
is one of the column's choices, a date filter is a range (``<key>_from`` / ``<key>_to``, inclusive,
whole UTC days). A value that is not valid is reported beside its field and not applied; the other
filters still are. Sorting is ``sort=<key>`` or ``sort=-<key>`` on a sortable column.

Exports stream: the CSV is written row by row from a server-side cursor; the XLSX is written by
XlsxWriter in constant-memory mode into a temporary file, so memory stays flat however many rows
there are. Every cell goes through ``dropcopy_admin.spreadsheets`` (no formula, no control character).

This module imports nothing of entitlements, billing or the portal pages.
"""

import csv
import dataclasses
import datetime as dt
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.core.paginator import Paginator
from django.db import models
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.utils.formats import date_format

from dropcopy_admin.spreadsheets import SafeWorkbook, safe_csv_row

TEXT = "text"
CHOICE = "choice"
DATE = "date"

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_CHUNK = 2000


def utc_text(moment: dt.datetime | None) -> str:
    """A moment as people read it: "2026-12-04 20:50 UTC"; empty for none."""
    if moment is None:
        return ""
    return date_format(moment.astimezone(dt.UTC), "Y-m-d H:i") + " UTC"


@dataclass
class Column:
    """One column: its query-string ``key``, its ``heading``, how a row gives its value, how it filters.

    ``value`` takes a row and gives what the page and the exports show (text, a number, a moment).
    ``field`` is the ORM path filtered and sorted on (the key when not given). ``filter`` is
    ``TEXT``, ``CHOICE`` (with ``choices``: value, label pairs) or ``DATE``; ``None`` for none.
    ``filter_q`` replaces the default lookup for a text or choice filter: it takes the cleaned value
    and gives a ``Q``.
    """

    key: str
    heading: str
    value: Callable[[Any], Any]
    field: str | None = None
    filter: str | None = None
    choices: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    sortable: bool = True
    filter_q: Callable[[Any], models.Q] | None = None

    @property
    def path(self) -> str:
        return self.field or self.key


def _filter_fields(column: Column) -> dict[str, forms.Field]:
    label = column.heading
    if column.filter == TEXT:
        return {
            column.key: forms.CharField(
                required=False,
                max_length=100,
                label=f"Filter {label}",
                widget=forms.TextInput(attrs={"type": "search", "placeholder": "Contains…"}),
            )
        }
    if column.filter == CHOICE:
        return {
            column.key: forms.ChoiceField(
                required=False,
                label=f"Filter {label}",
                choices=[("", "All"), *column.choices],
                error_messages={"invalid_choice": "Choose one of the listed values."},
            )
        }
    if column.filter == DATE:
        date_widget = forms.DateInput(attrs={"type": "date"})
        invalid = {"invalid": "Enter a date as YYYY-MM-DD."}
        return {
            f"{column.key}_from": forms.DateField(
                required=False, label=f"{label} from", widget=date_widget, error_messages=invalid
            ),
            f"{column.key}_to": forms.DateField(
                required=False, label=f"{label} to", widget=date_widget, error_messages=invalid
            ),
        }
    return {}


class TableForm(forms.Form):
    """The filters and sort of one table, built from its columns."""

    def __init__(self, *args, columns: list[Column], prefix_id: str, **kwargs):
        super().__init__(*args, auto_id=f"{prefix_id}-%s", **kwargs)
        sort_choices = []
        for column in columns:
            self.fields.update(_filter_fields(column))
            if column.sortable:
                sort_choices += [(column.key, column.heading), (f"-{column.key}", f"{column.heading}, descending")]
        self.fields["sort"] = forms.ChoiceField(
            required=False,
            label="Sort",
            choices=[("", "Default"), *sort_choices],
            error_messages={"invalid_choice": "This column cannot be sorted that way."},
        )

    def clean(self):
        cleaned = super().clean()
        for name in list(self.fields):
            if name.endswith("_from"):
                key = name.removesuffix("_from")
                start, end = cleaned.get(name), cleaned.get(f"{key}_to")
                if start and end and start > end:
                    self.add_error(f"{key}_to", "The end date is before the start date.")
        return cleaned

    def valid_values(self) -> dict:
        """The cleaned values of the fields that are valid (an invalid one is left out)."""
        self.is_valid()
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs.update(
                    {"aria-invalid": "true", "aria-describedby": f"{self.auto_id % name}-error"}
                )
        cleaned = getattr(self, "cleaned_data", {})
        # A range whose end is before its start is not applied at all (its error is beside the end).
        wrong = {name.removesuffix("_to") + "_from" for name in self.errors if name.endswith("_to")}
        return {
            name: value
            for name, value in cleaned.items()
            if name not in self.errors and name not in wrong and value not in ("", None)
        }


@dataclass
class HeaderCell:
    column: Column
    sort_url: str | None
    aria_sort: str | None
    fields: list


class Table:
    """One table of a page: ``Table(request.GET, queryset, columns, id="requests", caption="…")``.

    ``queryset`` must already be what the user may see (``visible(...)``) with its related rows
    selected, so a page costs the same few queries whatever its length.
    """

    def __init__(
        self,
        query: dict,
        queryset: models.QuerySet,
        columns: list[Column],
        *,
        id: str,
        caption: str,
        default_sort: Iterable[str] = ("-pk",),
        per_page: int = 50,
        path: str = "",
        empty: str = "Nothing to show yet.",
        kept: dict[str, str] | None = None,
        empty_link: tuple[str, str] | None = None,
    ):
        self.query = query
        self.columns = columns
        self.id = id
        self.caption = caption
        self.default_sort = list(default_sort)
        self.per_page = per_page
        self.path = path
        self.empty = empty
        self.kept = kept or {}
        self.empty_link = empty_link  # (text, url) of where to act when there is nothing yet
        self.form = TableForm(query, columns=columns, prefix_id=id)
        self.values = self.form.valid_values()
        self._queryset = queryset
        self._page = None

    # --- reading ----------------------------------------------------------------------------

    @property
    def is_valid(self) -> bool:
        self.form.is_valid()
        return not self.form.errors

    @property
    def sort(self) -> str:
        return self.values.get("sort", "")

    @property
    def filtered(self) -> bool:
        return any(name != "sort" for name in self.values)

    def rows(self) -> models.QuerySet:
        """The queryset narrowed by the valid filters and sorted."""
        queryset = self._queryset
        for column in self.columns:
            if column.filter in (TEXT, CHOICE) and column.key in self.values:
                value = self.values[column.key]
                if column.filter_q is not None:
                    queryset = queryset.filter(column.filter_q(value))
                elif column.filter == TEXT:
                    queryset = queryset.filter(**{f"{column.path}__icontains": value})
                else:
                    queryset = queryset.filter(**{column.path: value})
            elif column.filter == DATE:
                start = self.values.get(f"{column.key}_from")
                end = self.values.get(f"{column.key}_to")
                if start:
                    queryset = queryset.filter(**{f"{column.path}__gte": _day_start(start)})
                if end:
                    queryset = queryset.filter(**{f"{column.path}__lt": _day_start(end + dt.timedelta(days=1))})
        return queryset.order_by(*self._ordering())

    def _ordering(self) -> list:
        sort = self.sort
        if not sort:
            return self.default_sort
        key = sort.removeprefix("-")
        column = next(c for c in self.columns if c.key == key)
        expression = models.F(column.path)
        ordered = expression.desc(nulls_last=True) if sort.startswith("-") else expression.asc(nulls_last=True)
        return [ordered, "-pk" if sort.startswith("-") else "pk"]

    @property
    def page(self):
        if self._page is None:
            self._page = Paginator(self.rows(), self.per_page).get_page(self.query.get("page"))
        return self._page

    def cells(self, row) -> list:
        return [column.value(row) for column in self.columns]

    def page_rows(self) -> list[list]:
        return [[_export_value(value) for value in self.cells(row)] for row in self.page]

    # --- links ------------------------------------------------------------------------------

    def _url(self, **changes) -> str:
        params = dict(self.kept)
        for name in self.form.fields:
            value = self.query.get(name)
            if value:
                params[name] = value
        for name, value in changes.items():
            if value in (None, ""):
                params.pop(name, None)
            else:
                params[name] = value
        return f"{self.path}?{urlencode(params)}" if params else self.path or "?"

    def headers(self) -> list[HeaderCell]:
        cells = []
        sort = self.sort
        for column in self.columns:
            sort_url = aria_sort = None
            if column.sortable:
                if sort == column.key:
                    aria_sort, next_sort = "ascending", f"-{column.key}"
                elif sort == f"-{column.key}":
                    aria_sort, next_sort = "descending", column.key
                else:
                    next_sort = column.key
                sort_url = self._url(sort=next_sort, page=None)
            fields = [self.form[name] for name in _filter_fields(column)]
            cells.append(HeaderCell(column=column, sort_url=sort_url, aria_sort=aria_sort, fields=fields))
        return cells

    def page_url(self, number: int) -> str:
        return self._url(page=number)

    def previous_url(self) -> str | None:
        return self.page_url(self.page.previous_page_number()) if self.page.has_previous() else None

    def next_url(self) -> str | None:
        return self.page_url(self.page.next_page_number()) if self.page.has_next() else None

    def export_url(self, kind: str) -> str:
        return self._url(export=kind, page=None)

    @property
    def export_url_csv(self) -> str:
        return self.export_url("csv")

    @property
    def export_url_xlsx(self) -> str:
        return self.export_url("xlsx")

    @property
    def clear_url(self) -> str:
        params = dict(self.kept)
        return f"{self.path}?{urlencode(params)}" if params else self.path or "?"

    @property
    def colspan(self) -> int:
        return len(self.columns)

    # --- exports ----------------------------------------------------------------------------

    def _export_rows(self) -> Iterator[list]:
        for row in self.rows().iterator(chunk_size=EXPORT_CHUNK):
            yield [_export_value(value) for value in self.cells(row)]

    def csv_response(self, filename: str) -> StreamingHttpResponse:
        """The filtered, sorted rows (all pages) as a streamed CSV."""

        def lines() -> Iterator[str]:
            buffer = _Echo()
            writer = csv.writer(buffer, lineterminator="\r\n")
            yield writer.writerow([column.heading for column in self.columns])
            for values in self._export_rows():
                yield writer.writerow(safe_csv_row(values))

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        return response

    def xlsx_response(self, filename: str) -> FileResponse:
        """The filtered, sorted rows (all pages) as an XLSX, written row by row (constant memory)."""
        out = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it once sent)
        with SafeWorkbook(out) as workbook:
            sheet = workbook.sheet(_sheet_name(self.caption))
            sheet.append([column.heading for column in self.columns])
            for values in self._export_rows():
                sheet.append(values)
        out.seek(0)
        return FileResponse(out, as_attachment=True, filename=f"{filename}.xlsx", content_type=XLSX_CONTENT_TYPE)

    def export_response(self, kind: str, filename: str) -> HttpResponse:
        """``kind`` "csv" or "xlsx"; a 400 naming the fault when a filter is not valid."""
        if not self.is_valid:
            problems = "; ".join(
                f"{self.form.fields[name].label}: {' '.join(messages)}"
                if name in self.form.fields
                else " ".join(messages)
                for name, messages in self.form.errors.items()
            )
            return HttpResponse(
                f"The export was not made: {problems}", status=400, content_type="text/plain; charset=utf-8"
            )
        if kind == "xlsx":
            return self.xlsx_response(filename)
        if kind == "csv":
            return self.csv_response(filename)
        return HttpResponse(
            "The export was not made: ask for csv or xlsx.", status=400, content_type="text/plain; charset=utf-8"
        )


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def _sheet_name(caption: str) -> str:
    """A worksheet name Excel accepts: at most 31 characters, none of []:*?/\\."""
    name = "".join(" " if character in "[]:*?/\\" else character for character in caption)[:31].strip()
    return name or "Rows"


def _export_value(value):
    """A cell for a spreadsheet: a moment as its UTC text, anything else as it is."""
    if isinstance(value, dt.datetime):
        return utc_text(value)
    return value


class _Echo:
    """A file-like object whose ``write`` gives back what it was given (for a streamed CSV)."""

    def write(self, value: str) -> str:
        return value
