"""Who takes part: registered entities, clearing firms and their Globex firm IDs (GFIDs)."""

from django.db import models
from django.db.models.functions import Upper

from .reference import Venue


class ClearingFirm(models.Model):
    code = models.CharField(max_length=3, unique=True)
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Entity(models.Model):
    """A registered entity (client firm)."""

    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=100)
    self_service = models.BooleanField(
        default=False,
        help_text="Self-service authorisation for CME (agreements on file)",
    )
    bill_to = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="billed_entities",
        help_text="The party billed for this entity's groups; empty means the entity itself",
    )
    clearing_firm = models.OneToOneField(
        ClearingFirm,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="entity",
        help_text="The clearing firm this entity is, if it is one",
    )

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "entities"

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def bill_to_party_id(self) -> int:
        return self.bill_to_id or self.id

    def may_self_serve(self, venue_code: str | None) -> bool:
        """R3a: CME writes, and writes tied to no venue, need the authorisation."""
        if venue_code in (None, "CME"):
            return self.self_service
        return True


class Gfid(models.Model):
    """A Globex firm ID, unique per venue."""

    code = models.CharField(max_length=5)
    venue = models.ForeignKey(Venue, on_delete=models.PROTECT, related_name="gfids")
    entity = models.ForeignKey(Entity, on_delete=models.PROTECT, related_name="gfids")
    clearing_firm = models.ForeignKey(
        ClearingFirm,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="gfids",
    )
    admin_control = models.BooleanField(default=False, help_text="The entity administers this GFID itself")

    class Meta:
        ordering = ["id"]
        verbose_name = "GFID"
        constraints = [
            models.UniqueConstraint(fields=["venue", "code"], name="gfid_unique_per_venue"),
            models.CheckConstraint(condition=models.Q(code=Upper("code")), name="gfid_code_uppercase"),
        ]

    def __str__(self) -> str:
        return f"GFID {self.code} ({self.venue_id})"
