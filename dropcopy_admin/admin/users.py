"""Users and their roles, and API tokens. Password hashes and token digests are never shown.

Every write is a call of ``services.users``, which holds the role rules and records the change:
``user_create``, ``user_update`` (role ``account_manager`` ⇔ superuser, finance and account
managers are staff, a clearing firm administrator has a firm, a client an entity) and
``user_set_password`` (the hash never in the trail).
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from dropcopy_admin import errors
from dropcopy_admin.models import ApiToken, User
from dropcopy_admin.services import users

from .base import AuditedModelAdmin, ReadOnlyModelAdmin, ServiceModelForm


class _RoleLinksForm(ServiceModelForm):
    """Checks the links the role needs (``users.check_role_links``) with the other fields, so they
    show on their fields before the model's own constraints answer in less helpful words."""

    def clean(self):
        cleaned_data = super().clean()
        if cleaned_data.get("role"):
            try:
                users.check_role_links(
                    role=cleaned_data["role"],
                    clearing_firm=cleaned_data.get("clearing_firm"),
                    entity=cleaned_data.get("entity"),
                )
            except errors.DomainError as error:
                self.add_domain_error(error)
        return cleaned_data


class UserCreationForm(_RoleLinksForm):
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


class UserChangeForm(_RoleLinksForm):
    class Meta:
        model = User
        fields = ["username", "first_name", "last_name", "email", "role", "clearing_firm", "entity", "is_active"]

    def update(self, actor, instance, changes):
        return users.user_update(actor=actor, user=instance, **changes)


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

    def user_change_password(self, request, id, form_url=""):
        """Django's page, with the new password set by ``users.user_set_password``."""
        if request.method != "POST":
            return super().user_change_password(request, id, form_url)
        user = self.get_object(request, unquote(id))
        if user is None or not self.has_change_permission(request, user):
            return super().user_change_password(request, id, form_url)  # Django's 404 or 403
        form = self.change_password_form(user, request.POST)
        if not form.is_valid():
            return super().user_change_password(request, id, form_url)  # the form with its errors
        password_login = form.cleaned_data["set_usable_password"]
        if not password_login and "unset-password" not in request.POST:
            return super().user_change_password(request, id, form_url)  # Django refuses conflicting data
        user = users.user_set_password(
            actor=request.user, user=user, password=form.cleaned_data["password1"] if password_login else None
        )
        self.log_change(request, user, self.construct_change_message(request, form, None))
        done = "Password changed successfully." if password_login else "Password-based authentication was disabled."
        self.message_user(request, done, messages.SUCCESS)
        update_session_auth_hash(request, user)
        change_page = f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_change"
        return HttpResponseRedirect(reverse(change_page, args=[user.pk]))


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyModelAdmin):
    """Only a token's digest is stored, and not even that is shown."""

    list_display = ["__str__", "name", "user", "created_at", "expires_at", "last_used_at", "revoked_at"]
    list_select_related = ["user"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__username", "name"]
    fields = ["user", "name", "created_at", "expires_at", "last_used_at", "revoked_at"]
    date_hierarchy = "created_at"
