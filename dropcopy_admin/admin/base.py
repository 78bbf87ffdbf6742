"""What every admin page shares: service-backed forms (every write a service call), no deletes, confirmations."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, models, transaction
from django.db.models.functions import Coalesce
from django.template.response import TemplateResponse

from dropcopy_admin import errors


def count_of(model, link: str, **filters) -> Coalesce:
    """How many ``model`` rows point at the outer row through ``link`` (and match ``filters``).

    A subquery rather than a JOIN + GROUP BY, so a changelist's COUNT and date queries stay plain
    (Django drops unused subquery annotations from them) and a list costs the same whatever its length.
    """
    counted = (
        model._default_manager.filter(**{link: models.OuterRef("pk")}, **filters)
        .order_by()
        .values(link)
        .annotate(n=models.Count("pk"))
        .values("n")
    )
    return Coalesce(models.Subquery(counted, output_field=models.IntegerField()), 0)


class ServiceModelForm(forms.ModelForm):
    """A model form whose save is one service call.

    The call is made while the form validates, so that a ``DomainError`` becomes a form error
    instead of a 500. It runs inside the admin view's own transaction (``changeform_view`` is
    atomic), in a savepoint that a refusal rolls back; the service's audit row commits with it.
    Subclasses implement ``create`` and, if the object may change, ``update``.
    """

    admin_request = None  # set by AuditedModelAdmin.get_form
    service_error_fields: dict[str, str] = {}  # a service's field name → this form's field

    def create(self, actor, data: dict):
        raise NotImplementedError

    def update(self, actor, instance, changes: dict):
        raise NotImplementedError

    def _post_clean(self):
        adding = self.instance._state.adding
        super()._post_clean()
        if self._errors:
            return
        actor = self.admin_request.user
        try:
            with transaction.atomic():
                if adding:
                    self.instance = self.create(actor, dict(self.cleaned_data))
                else:
                    changes = {name: self.cleaned_data[name] for name in self.changed_data if name in self.cleaned_data}
                    if changes:
                        self.instance = self.update(actor, self.instance, changes)
        except errors.DomainError as error:
            self.add_domain_error(error)
        except IntegrityError:
            self.add_error(None, "This change conflicts with data stored meanwhile; reload and try again.")

    def add_domain_error(self, error: errors.DomainError) -> None:
        placed = False
        for name, field_messages in (error.errors or {}).items():
            field = self.service_error_fields.get(name, name)
            if field in self.fields:
                self.add_error(field, list(field_messages))
                placed = True
        if not placed:
            self.add_error(None, error.for_people)


class AuditedModelAdmin(admin.ModelAdmin):
    """A model admin whose form is a ``ServiceModelForm``: every add and change is one service call,
    audited by the service (actor, request id, before and after). Nothing is saved directly from
    a form, and nothing is deleted from the admin.
    """

    show_full_result_count = False

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if not issubclass(form, ServiceModelForm):
            raise ImproperlyConfigured(f"{type(self).__name__} writes through a ServiceModelForm, not {form.__name__}.")
        return type(form.__name__, (form,), {"admin_request": request})

    def has_delete_permission(self, request, obj=None):
        return False

    def save_form(self, request, form, change):
        return form.instance  # saved by the service during validation

    def save_model(self, request, obj, form, change):
        """Saved already, by the service the form called."""

    def save_related(self, request, form, formsets, change):
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """Shown, never written from the admin: the system or the services own these rows."""

    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyTabularInline(admin.TabularInline):
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def confirm_action(
    modeladmin,
    request,
    queryset,
    *,
    title: str,
    question: str,
    confirm_label: str,
    form: forms.Form | None = None,
    describe=str,
):
    """The page asking to confirm an action on ``queryset`` (and to fill ``form``, if any)."""
    objects = list(queryset)
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "question": question,
        "confirm_label": confirm_label,
        "objects": [(obj.pk, describe(obj)) for obj in objects],
        "action": request.POST.get("action", ""),
        "form": form,
        "media": modeladmin.media + (form.media if form is not None else forms.Media()),
        "opts": modeladmin.opts,
    }
    return TemplateResponse(request, "admin/dropcopy_admin/confirm_action.html", context)


def is_confirmed(request) -> bool:
    return request.POST.get("confirm") == "yes"


def run_per_object(modeladmin, request, objects, service, *, done: str) -> None:
    """Call ``service(obj)`` for each object, each in its own transaction; report refusals."""
    succeeded = 0
    for obj in objects:
        try:
            service(obj)
        except errors.DomainError as error:
            modeladmin.message_user(request, f"{obj}: {error.for_people}", messages.ERROR)
        else:
            succeeded += 1
    if succeeded:
        modeladmin.message_user(request, f"{done}: {succeeded}.", messages.SUCCESS)
