from django.contrib import admin
from django.urls import include, path, re_path

from dropcopy_admin.api.exceptions import api_not_found

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("dropcopy_admin.api.urls")),
    re_path(r"^api/", api_not_found),
]
