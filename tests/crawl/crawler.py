"""Walks every admin, portal and API page one login can reach, and judges each answer.

Each request goes through Django's test client with ``raise_request_exception=False``, so a view's
exception becomes the 500 a visitor would get, and inside a savepoint rolled back right after the
answer: nothing a page does (an admin action, a portal form) changes what the next page shows,
whatever it queues ``on_commit`` is dropped with it, and a database error in one page cannot
spoil the rest of the crawl. Admin actions are therefore all posted — without confirming — and
the crawl notes what each did: asked for confirmation, downloaded, or acted at once (undone).
"""

import copy
import dataclasses
import enum
import traceback
from collections.abc import Iterable
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urlsplit

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.utils import quote, unquote
from django.db import transaction
from django.shortcuts import resolve_url
from django.test import Client, RequestFactory
from django.urls import NoReverseMatch, Resolver404, URLPattern, URLResolver, resolve, reverse

from dropcopy_admin import portal_urls
from dropcopy_admin.api import urls as api_urls
from dropcopy_admin.choices import LIVE_MEMBERSHIP_STATUSES, TargetStatus
from dropcopy_admin.management.commands.seed_demo import DEMO_PASSWORD
from dropcopy_admin.models import DropCopyGroup, KeyPair, Membership, TargetSession, User
from dropcopy_admin.selectors.visibility import visible

LINKS_PER_CHANGELIST = 30  # filter, sort, facet and page links followed on one changelist
LINKS_PER_PORTAL_PAGE = 30
DATE_DRILLDOWN_DEPTH = 3  # year, month, day
SEARCH_TERMS = ["A", "1"]
STANDARD_ADMIN_VIEWS = ("changelist", "add", "history", "delete", "change")
PROJECT_FRAMES = ("/dropcopy_admin/", "/entitlements/", "/billing/", "/templates/")


class Expect(enum.Enum):
    """What a page must answer this login."""

    PAGE = "a page"  # below 400, and not a redirect to a login page
    REFUSED = "a refusal (403 or 404)"
    SENT_TO_LOGIN = "a redirect to the login page"
    KEPT_OUT = "the API's refusal (401, 403, or 405 for the wrong method) or a redirect to the login page"
    PAGE_OR_REFUSED = "a page or a refusal (403, 404, or 405 for the wrong method)"
    ANSWER = "any answer but a server error"


@dataclasses.dataclass
class Form:
    method: str
    action: str
    fields: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    buttons: list[tuple[str, str]] = dataclasses.field(default_factory=list)

    def submitted(self) -> dict[str, list[str]]:
        """The data a visitor sends by pressing the form's first button without changing anything."""
        data: dict[str, list[str]] = {}
        for name, value in [*self.fields, *self.buttons[:1]]:
            if name != "csrfmiddlewaretoken":  # the test client does not check it
                data.setdefault(name, []).append(value)
        return data


class PageParser(HTMLParser):
    """The links, forms and admin action choices of one HTML page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.forms: list[Form] = []
        self.action_choices: list[str] = []
        self.selected_action_values: list[str] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._select_has_value = False
        self._checked_names: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        name = attributes.get("name", "")
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])
        elif tag == "form":
            self._form = Form(method=(attributes.get("method") or "get").lower(), action=attributes.get("action", ""))
            self.forms.append(self._form)
            self._checked_names = set()
        elif tag == "select":
            self._select, self._select_has_value = name, False
        elif tag == "option" and self._select is not None:
            value = attributes.get("value", "")
            if self._select == "action" and value:
                self.action_choices.append(value)
            if self._form is not None and self._select and value and not self._select_has_value:
                self._form.fields.append((self._select, value))
                self._select_has_value = True
        elif tag == "input":
            self._input(attributes, name)
        elif tag == "button" and self._form is not None and name:
            self._form.buttons.append((name, attributes.get("value", "")))
        elif tag == "textarea" and self._form is not None and name:
            self._form.fields.append((name, "Checked by the page crawl."))

    def _input(self, attributes: dict[str, str], name: str) -> None:
        kind = attributes.get("type", "text").lower()
        value = attributes.get("value", "")
        if name == "_selected_action":
            self.selected_action_values.append(value)
        if self._form is None or not name:
            return
        if kind in ("checkbox", "radio"):
            if name not in self._checked_names:  # the first box of each name ticked
                self._checked_names.add(name)
                self._form.fields.append((name, value or "on"))
        elif kind == "submit":
            self._form.buttons.append((name, value))
        elif kind not in ("file", "image", "reset", "button"):
            self._form.fields.append((name, value))

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


@dataclasses.dataclass
class Answer:
    status: int
    location: str
    content_type: str
    attachment: bool
    parsed: PageParser | None


def _query_keys(href: str) -> list[str]:
    return [key for key, _ in parse_qsl(urlsplit(href).query, keep_blank_values=True)]


def _first_line(exception: BaseException) -> str:
    text = str(exception).strip().splitlines()
    return f"{type(exception).__name__}: {text[0] if text else ''}".rstrip(": ")


def _innermost_project_frame(tb) -> str:
    frames = [
        frame
        for frame in traceback.extract_tb(tb)
        if "/.venv/" not in frame.filename and any(part in frame.filename for part in PROJECT_FRAMES)
    ]
    if not frames:
        return ""
    frame = frames[-1]
    return f" (at {frame.filename.removeprefix(str(settings.BASE_DIR) + '/')}:{frame.lineno})"


def _admin_url(model, view: str, *args) -> str:
    """The address of one of Django's admin views of ``model`` (changelist, add, change…)."""
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _round_robin(groups: Iterable[list[str]]) -> list[str]:
    """One link of each group in turn, so every filter is applied before any filter twice."""
    queues = [list(group) for group in groups]
    ordered: list[str] = []
    while any(queues):
        for queue in queues:
            if queue:
                ordered.append(queue.pop(0))
    return ordered


class Crawl:
    """One login's walk through the admin, the portal and the API."""

    def __init__(self, username: str | None):
        self.username = username
        self.role = username or "anonymous"
        self.user = User.objects.get(username=username) if username else None
        self.client = Client(raise_request_exception=False)
        self.visited: dict[tuple[str, str, str], int] = {}
        self.problems: list[str] = []
        self.notes: list[str] = []
        self.login_paths = {resolve_url(settings.LOGIN_URL), reverse("admin:login")}

    # --- requests ----------------------------------------------------------------------------

    def get(self, url: str, expect: Expect) -> Answer | None:
        return self._visit("get", url, {}, expect)

    def post(self, url: str, data: dict, expect: Expect) -> Answer | None:
        return self._visit("post", url, data, expect)

    def _visit(self, method: str, url: str, data: dict, expect: Expect) -> Answer | None:
        key = (method, url, urlencode(sorted(data.items()), doseq=True))
        if key in self.visited:
            return None
        streaming_error = None
        cookies = copy.deepcopy(self.client.cookies)  # the session as it was, like the database
        with transaction.atomic():
            try:
                response = getattr(self.client, method)(url, data)
                if response.streaming:
                    try:
                        body = b"".join(response.streaming_content)
                    except Exception as error:  # a download that breaks half way is a server error too
                        streaming_error = error
                        body = b""
                else:
                    body = response.content
            finally:
                transaction.set_rollback(True)
        self.client.cookies = cookies
        self.visited[key] = response.status_code
        shown = f"{method.upper()} {url}" + (f" {key[2]}" if method == "post" and key[2] else "")
        if streaming_error is not None:
            self.problems.append(
                f"{self.role}: {shown} → broke while sending its body: {_first_line(streaming_error)}"
                f"{_innermost_project_frame(streaming_error.__traceback__)}"
            )
            return None
        if response.status_code >= 500:
            exc_info = getattr(response, "exc_info", None)
            cause = (
                _first_line(exc_info[1]) + _innermost_project_frame(exc_info[2]) if exc_info else "no exception raised"
            )
            self.problems.append(f"{self.role}: {shown} → {response.status_code}: {cause}")
            return None
        content_type = response.get("Content-Type", "")
        answer = Answer(
            status=response.status_code,
            location=response.get("Location", ""),
            content_type=content_type,
            attachment="attachment" in response.get("Content-Disposition", ""),
            parsed=None,
        )
        if content_type.startswith("text/html") and not answer.attachment:
            answer.parsed = PageParser()
            answer.parsed.feed(body.decode(response.charset or "utf-8", errors="replace"))
        if not self._meets(answer, expect):
            where = f" to {answer.location}" if answer.location else ""
            self.problems.append(f"{self.role}: {shown} → {answer.status}{where}, where {expect.value} was expected")
        return answer

    def _sent_to_login(self, answer: Answer) -> bool:
        return answer.status in (301, 302) and urlsplit(answer.location).path in self.login_paths

    def _meets(self, answer: Answer, expect: Expect) -> bool:
        page = answer.status < 400 and not self._sent_to_login(answer)
        refused = answer.status in (403, 404)
        return {
            Expect.PAGE: page,
            Expect.REFUSED: refused,
            Expect.SENT_TO_LOGIN: self._sent_to_login(answer),
            Expect.KEPT_OUT: answer.status in (401, 403, 405) or self._sent_to_login(answer),
            Expect.PAGE_OR_REFUSED: page or refused or answer.status == 405,
            Expect.ANSWER: True,
        }[expect]

    def _as_user(self):
        """A request carrying this login's user, to ask the model admins what it may do."""
        request = RequestFactory().get(reverse("admin:index"))
        request.user = self.user
        return request

    # --- logging in --------------------------------------------------------------------------

    def log_in(self) -> bool:
        """Log in as the product asks: the admin's login for staff, the portal's for everyone else."""
        if self.user is None:
            return True
        if self.user.is_staff:
            login, landing = reverse("admin:login"), reverse("admin:index")
        else:
            login, landing = resolve_url(settings.LOGIN_URL), resolve_url(settings.LOGIN_REDIRECT_URL)
        self.get(login, Expect.PAGE)
        response = self.client.post(login, {"username": self.username, "password": DEMO_PASSWORD, "next": landing})
        self.visited["post", login, "login"] = response.status_code
        if response.status_code != 302 or "_auth_user_id" not in self.client.session:
            exc_info = getattr(response, "exc_info", None)
            cause = f": {_first_line(exc_info[1])}{_innermost_project_frame(exc_info[2])}" if exc_info else ""
            self.problems.append(f"{self.role}: could not log in at {login} (answered {response.status_code}{cause})")
            return False
        return True

    # --- the admin ---------------------------------------------------------------------------

    def crawl_admin(self) -> None:
        site = admin.site
        registry = sorted(site._registry.items(), key=lambda item: (item[0]._meta.app_label, item[0]._meta.model_name))
        admitted = self.user is not None and site.has_permission(self._as_user())
        if not admitted:
            # Django's admin sends whoever it does not admit to its login page.
            self.get(reverse("admin:index"), Expect.SENT_TO_LOGIN)
            for model, _ in registry:
                self.get(_admin_url(model, "changelist"), Expect.SENT_TO_LOGIN)
                self.get(_admin_url(model, "add"), Expect.SENT_TO_LOGIN)
                first = model._default_manager.order_by("pk").first()
                if first is not None:
                    self.get(_admin_url(model, "change", quote(first.pk)), Expect.SENT_TO_LOGIN)
            return
        request = self._as_user()
        self.get(reverse("admin:index"), Expect.PAGE)
        self.get(reverse("admin:password_change"), Expect.PAGE)
        self.get(reverse("admin:jsi18n"), Expect.PAGE)
        for app_label in sorted({model._meta.app_label for model, _ in registry}):
            shown = bool(site.get_app_list(request, app_label))
            self.get(reverse("admin:app_list", args=[app_label]), Expect.PAGE if shown else Expect.REFUSED)
        for model, model_admin in registry:
            self.crawl_model_admin(model, model_admin)

    def crawl_model_admin(self, model, model_admin) -> None:
        request = self._as_user()
        name = model._meta.verbose_name
        changelist = _admin_url(model, "changelist")
        may_view = model_admin.has_view_or_change_permission(request)
        answer = self.get(changelist, Expect.PAGE if may_view else Expect.REFUSED)
        page = answer.parsed if answer is not None and answer.status == 200 else None
        shown = [page] if page is not None else []
        self.get(
            _admin_url(model, "add"),
            Expect.PAGE if model_admin.has_add_permission(request) else Expect.REFUSED,
        )
        obj = self._first_row(model, model_admin, changelist, page)
        if obj is None:
            self.notes.append(f"{name}: no seeded row, so no change page visited")
        else:
            object_id = quote(obj.pk)
            may_see = model_admin.has_view_or_change_permission(request, obj)
            change = self.get(
                _admin_url(model, "change", object_id),
                Expect.PAGE if may_see else Expect.REFUSED,
            )
            if change is not None and change.parsed is not None:
                shown.append(change.parsed)
            self.get(
                _admin_url(model, "history", object_id),
                Expect.PAGE if may_see else Expect.REFUSED,
            )
            self.get(
                _admin_url(model, "delete", object_id),
                Expect.PAGE if model_admin.has_delete_permission(request, obj) else Expect.REFUSED,
            )
        self._crawl_custom_admin_views(model_admin, obj, shown)
        self._crawl_autocompletes(model, model_admin)
        if page is None:
            return
        self._crawl_changelist_links(changelist, page, model_admin)
        if model_admin.get_search_fields(request):
            for term in SEARCH_TERMS:
                self.get(f"{changelist}?{urlencode({'q': term})}", Expect.PAGE)
        self._crawl_actions(model, model_admin, changelist, page, obj)

    def _first_row(self, model, model_admin, changelist: str, page: PageParser | None):
        """The changelist's first row; without a list to read, the first row the admin would list."""
        queryset = model_admin.get_queryset(self._as_user())
        if page is not None:
            if page.selected_action_values:
                return queryset.filter(pk=unquote(page.selected_action_values[0])).first()
            for href in page.links:
                path = urlsplit(href).path
                if path.startswith(changelist) and path.endswith("/change/"):
                    object_id = path.removeprefix(changelist).removesuffix("/change/")
                    if "/" not in object_id:
                        return queryset.filter(pk=unquote(object_id)).first()
        return queryset.first()

    def _crawl_changelist_links(self, changelist: str, page: PageParser, model_admin) -> None:
        """Each filter applied, each column sorted, the facet counts, other pages; the dates drilled."""
        date_field = model_admin.date_hierarchy
        filters: dict[tuple[str, ...], list[str]] = {}
        sorting, others, dates = [], [], []
        for href in dict.fromkeys(page.links):
            if not href.startswith("?") or href == "?":
                continue  # "?" is the changelist itself
            keys = _query_keys(href)
            if date_field and any(key.startswith(f"{date_field}__") for key in keys):
                dates.append(href)
            elif keys == ["o"]:
                sorting.append(href)
            elif not keys or set(keys) <= {"p", "_facets", "e"}:
                others.append(href)
            else:
                filters.setdefault(tuple(sorted(keys)), []).append(href)
        chosen = [*_round_robin(filters.values()), *sorting, *others]
        for href in chosen[:LINKS_PER_CHANGELIST]:
            self.get(f"{changelist}{href}", Expect.PAGE)
        if dates:
            self._drill_down(changelist, date_field, dates)

    def _drill_down(self, changelist: str, date_field: str, links: list[str]) -> None:
        """Follow the date hierarchy from years to days, taking the first deeper link each time."""
        depth = 0
        for _ in range(DATE_DRILLDOWN_DEPTH):
            deeper = [
                href
                for href in links
                if href.startswith("?")
                and (keys := _query_keys(href))
                and all(key.startswith(f"{date_field}__") for key in keys)
                and len(keys) > depth
            ]
            if not deeper:
                return
            depth = len(_query_keys(deeper[0]))
            answer = self.get(f"{changelist}{deeper[0]}", Expect.PAGE)
            if answer is None or answer.parsed is None:
                return
            links = answer.parsed.links

    def _crawl_actions(self, model, model_admin, changelist: str, page: PageParser, obj) -> None:
        """Each action the admin defines for this login is offered, and posted for the first row.

        Posted without confirming: an action that asks first answers its confirmation page; one
        that acts at once is undone with the savepoint around the request.
        """
        if obj is None:
            return
        defined = list(model_admin.get_actions(self._as_user()))
        name = model._meta.verbose_name
        missing = [action for action in defined if action not in page.action_choices]
        if missing:
            self.problems.append(
                f"{self.role}: GET {changelist} → the changelist does not offer the actions {', '.join(missing)}"
            )
        for action in defined:
            answer = self.post(
                changelist,
                {"action": action, "_selected_action": [str(obj.pk)], "index": "0", "select_across": "0"},
                Expect.PAGE,
            )
            if answer is None:
                continue
            if answer.attachment:
                outcome = "downloaded"
            elif answer.status == 200:
                outcome = "asked for confirmation"
            else:
                outcome = "acted at once (undone)"
            self.notes.append(f"{name}: action {action} {outcome}")

    def _crawl_custom_admin_views(self, model_admin, obj, shown: list[PageParser]) -> None:
        """The model admin's own pages beyond Django's five (a user's password page, a billing run's
        close page…): each address it can build for the first row, and each link to one of them on
        the changelist and the change page."""
        info = model_admin.model._meta.app_label, model_admin.model._meta.model_name
        standard = {"{}_{}_{}".format(*info, view) for view in STANDARD_ADMIN_VIEWS}
        custom = {
            pattern.name
            for pattern in model_admin.get_urls()
            if isinstance(pattern, URLPattern) and pattern.name and pattern.name not in standard
        }
        urls: dict[str, str] = {}  # address → its view's name
        candidate_args = [[]] if obj is None else [[], [quote(obj.pk)]]
        for name in sorted(custom):
            for args in candidate_args:
                try:
                    urls[reverse(f"admin:{name}", args=args)] = name
                except NoReverseMatch:
                    continue
                break
        admin_root = reverse("admin:index")
        for page in shown:
            for href in page.links:
                parts = urlsplit(href)
                if not parts.path.startswith(admin_root):
                    continue
                try:
                    match = resolve(parts.path)
                except Resolver404:
                    continue
                if match.url_name in custom:
                    urls[parts.path + (f"?{parts.query}" if parts.query else "")] = match.url_name
        for name in sorted(custom - set(urls.values())):
            self.notes.append(f"admin page {name}: not visited (no address built or linked for the first row)")
        for url in urls:
            self._crawl_custom_admin_view(url)

    def _crawl_custom_admin_view(self, url: str) -> None:
        """Shown; posted empty if it takes only posts; its own forms submitted as shown."""
        answer = self.get(url, Expect.PAGE_OR_REFUSED)
        if answer is None:
            return
        if answer.status == 405:
            self.post(url, {}, Expect.ANSWER)
        elif answer.parsed is not None:
            path = urlsplit(url).path
            for form in answer.parsed.forms:
                if form.method == "post" and urlsplit(form.action).path in ("", path):
                    self.post(path, form.submitted(), Expect.ANSWER)

    def _crawl_autocompletes(self, model, model_admin) -> None:
        for field_name in model_admin.get_autocomplete_fields(self._as_user()):
            query = {"app_label": model._meta.app_label, "model_name": model._meta.model_name}
            query |= {"field_name": field_name, "term": "A"}
            self.get(f"{reverse('admin:autocomplete')}?{urlencode(query)}", Expect.PAGE_OR_REFUSED)

    # --- the portal --------------------------------------------------------------------------

    def crawl_portal(self) -> None:
        """Every page of dropcopy_admin/portal_urls.py: shown (GET), posted empty, its forms submitted,
        its links followed."""
        anonymous = self.user is None
        for pattern in portal_urls.urlpatterns:
            url = self._portal_url(pattern)
            if url is None:
                continue
            answer = self.get(url, Expect.SENT_TO_LOGIN if anonymous else Expect.PAGE_OR_REFUSED)
            self.post(url, {}, Expect.SENT_TO_LOGIN if anonymous else Expect.ANSWER)
            if answer is None or answer.parsed is None or answer.status != 200:
                continue
            links = [href for href in dict.fromkeys(answer.parsed.links) if href.startswith("?")]
            for href in links[:LINKS_PER_PORTAL_PAGE]:
                self.get(f"{url}{href}", Expect.PAGE)
            for form in answer.parsed.forms:
                target = urlsplit(form.action).path or url
                if not target.startswith(reverse("portal:home")):
                    continue  # e.g. the log-out form
                if form.method == "post":
                    self.post(target, form.submitted(), Expect.ANSWER)
                else:
                    self.get(f"{target}?{urlencode(form.submitted(), doseq=True)}", Expect.PAGE)

    def _portal_url(self, pattern) -> str | None:
        arguments = {}
        for argument in pattern.pattern.converters:
            seeded = self._seeded_object_for(argument, pattern.name)
            if seeded is None:
                self.problems.append(
                    f"{self.role}: portal page {pattern.name} takes {argument}, for which the crawl knows no "
                    "seeded object: teach tests/crawl/crawler.py which one to use"
                )
                return None
            arguments[argument] = seeded.pk
        return reverse(f"portal:{pattern.name}", kwargs=arguments)

    def _seeded_object_for(self, argument: str, page: str):
        """The object a portal page's id names: the first live one of its kind this login can see
        (a temporary target for the temporary targets' pages), else the first of the demo's."""
        if argument == "target_id":
            candidates = TargetSession.objects.exclude(status=TargetStatus.CLOSED)
            if "temporary" in page:
                candidates = candidates.filter(temporary__isnull=False)
        elif argument == "group_id":
            candidates = DropCopyGroup.objects.filter(closed_at__isnull=True)
        elif argument == "key_pair_id":
            candidates = KeyPair.objects.filter(revoked_at__isnull=True, is_probe=False)
        elif argument == "membership_id":
            candidates = Membership.objects.filter(status__in=LIVE_MEMBERSHIP_STATUSES)
        else:
            return None
        seen = visible(self.user, candidates.model) if self.user is not None else None
        mine = seen.filter(pk__in=candidates.values("pk")).order_by("pk").first() if seen is not None else None
        return mine or candidates.order_by("pk").first()

    # --- the API -----------------------------------------------------------------------------

    def crawl_api(self) -> None:
        """The API root, the docs, the schema, and every list the API has without an id in its address."""
        anonymous = self.user is None
        self.get(reverse("api-root"), Expect.KEPT_OUT if anonymous else Expect.PAGE)
        self.get(reverse("docs"), Expect.SENT_TO_LOGIN if anonymous else Expect.PAGE)
        self.get(reverse("schema"), Expect.KEPT_OUT if anonymous else Expect.PAGE)
        for url in _addresses_without_arguments([*api_urls.router.urls, *api_urls.urlpatterns]):
            self.get(url, Expect.KEPT_OUT if anonymous else Expect.PAGE_OR_REFUSED)

    def crawl_entrances(self) -> None:
        """The home address and the two login pages."""
        self.get("/", Expect.PAGE)
        self.get(resolve_url(settings.LOGIN_URL), Expect.PAGE)
        self.get(reverse("admin:login"), Expect.PAGE)

    def crawl(self) -> None:
        if not self.log_in():
            return
        self.crawl_entrances()
        self.crawl_admin()
        self.crawl_portal()
        self.crawl_api()


def _addresses_without_arguments(patterns) -> list[str]:
    urls = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver) or not pattern.name:
            continue
        if pattern.pattern.converters or "(?P<" in str(pattern.pattern):
            continue  # an address naming one object
        try:
            urls.append(reverse(pattern.name))
        except NoReverseMatch:
            continue
    return list(dict.fromkeys(urls))
