"""Users and their roles, and API tokens. Password hashes and token digests are never shown.

A user is created through ``services.users.user_create`` (which holds the role rules); later
edits are audited saves that keep the same rules: role ``account_manager`` ⇔ superuser, finance
and account managers are staff, a clearing firm administrator has a firm, a client an entity.
"""

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.db import transaction
from django.urls import reverse
from django.utils.html import format_html

from dropcopy_admin.choices import Role
from dropcopy_admin.models import ApiToken, User
from dropcopy_admin.services import users
from dropcopy_admin.services.audit import audit_record, snapshot

from .base import AuditedModelAdmin, ReadOnlyModelAdmin, ServiceModelForm


def check_role_links(form: forms.Form, cleaned_data: dict) -> None:
    """The links each role needs, and only those (as ``user_create`` checks them)."""
    role = cleaned_data.get("role")
    if role is None:
        return
    firm, entity = cleaned_data.get("clearing_firm"), cleaned_data.get("entity")
    if role == Role.CLEARING_FIRM and firm is None:
        form.add_error("clearing_firm", "A clearing firm administrator belongs to a clearing firm.")
    if role != Role.CLEARING_FIRM and firm is not None:
        form.add_error("clearing_firm", "Only clearing firm administrators belong to a clearing firm.")
    if role == Role.CLIENT and entity is None:
        form.add_error("entity", "A client administrator belongs to an entity.")
    if role != Role.CLIENT and entity is not None:
        form.add_error("entity", "Only client administrators belong to an entity.")


class UserCreationForm(ServiceModelForm):
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label="Password confirmation",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    service_error_fields = {"password": "password2"}

    class Meta:
        model = User
        fields = ["username", "email", "role", "clearing_firm", "entity"]

    def clean(self):
        cleaned_data = super().clean()
        check_role_links(self, cleaned_data)
        if cleaned_data.get("password1") != cleaned_data.get("password2"):
            self.add_error("password2", "The two password fields didn’t match.")
        return cleaned_data

    def create(self, actor, data):
        return users.user_create(
            actor=actor,
            username=data["username"],
            password=data["password1"],
            role=data["role"],
            email=data.get("email", ""),
            clearing_firm=data.get("clearing_firm"),
            entity=data.get("entity"),
        )


class UserChangeForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["username", "first_name", "last_name", "email", "role", "clearing_firm", "entity", "is_active"]

    def clean(self):
        cleaned_data = super().clean()
        check_role_links(self, cleaned_data)
        return cleaned_data


@admin.register(User)
class UserAdmin(AuditedModelAdmin, DjangoUserAdmin):
    add_form = UserCreationForm
    form = UserChangeForm
    add_form_template = None
    add_fieldsets = [
        (None, {"fields": ["username", "email", "password1", "password2"]}),
        ("Role", {"fields": ["role", "clearing_firm", "entity"]}),
    ]
    fieldsets = [
        (None, {"fields": ["username", "password_status"]}),
        ("Personal info", {"fields": ["first_name", "last_name", "email"]}),
        ("Role", {"fields": ["role", "clearing_firm", "entity", "is_active", "is_staff", "is_superuser"]}),
        ("Important dates", {"fields": ["last_login", "date_joined"]}),
    ]
    readonly_fields = ["password_status", "is_staff", "is_superuser", "last_login", "date_joined"]
    list_display = ["username", "email", "role", "entity", "clearing_firm", "is_active", "is_staff", "last_login"]
    list_select_related = ["entity", "clearing_firm"]
    list_filter = ["role", "is_active", "is_staff"]
    search_fields = ["username", "email", "first_name", "last_name", "entity__code", "clearing_firm__code"]
    autocomplete_fields = ["entity", "clearing_firm"]
    filter_horizontal = []
    ordering = ["username"]

    def has_add_permission(self, request):
        return request.user.is_superuser and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        """Roles grant rights, so only account managers change users."""
        return request.user.is_superuser and super().has_change_permission(request, obj)

    @admin.display(description="password")
    def password_status(self, obj):
        url = reverse("admin:auth_user_password_change", args=[obj.pk])
        state = "set" if obj.has_usable_password() else "not set (no password login)"
        return format_html('{} — <a href="{}">change it</a>', state, url)

    def before_audited_save(self, request, obj, form, change):
        obj.is_superuser = obj.role == Role.ACCOUNT_MANAGER
        obj.is_staff = obj.role in (Role.ACCOUNT_MANAGER, Role.FINANCE)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "role" in form.changed_data:
            finance, _ = Group.objects.get_or_create(name=users.FINANCE_GROUP)
            if obj.role == Role.FINANCE:
                obj.groups.add(finance)
            else:
                obj.groups.remove(finance)

    def user_change_password(self, request, id, form_url=""):
        """Django's view, with the change recorded (the hash itself never is)."""
        if request.method != "POST":
            return super().user_change_password(request, id, form_url)
        with transaction.atomic():
            hashes = User.objects.select_for_update().filter(pk=id).values_list("password", flat=True)
            before = next(iter(hashes), None)
            response = super().user_change_password(request, id, form_url)
            user = User.objects.filter(pk=id).first()
            if user is not None and user.password != before:
                state = snapshot(user)
                audit_record(actor=request.user, action="set_password", instance=user, before=state, after=state)
        return response


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyModelAdmin):
    """Only a token's digest is stored, and not even that is shown."""

    list_display = ["__str__", "user", "created_at", "last_used_at"]
    list_select_related = ["user"]
    search_fields = ["user__username"]
    fields = ["user", "created_at", "last_used_at"]
    date_hierarchy = "created_at"
