"""The drop copy gateway's own records (R19): sequence streams and the messages it sent (R15)."""

from django.db import models

from .targets import TargetSession


class SequenceStream(models.Model):
    """One sequence stream of a target: per market segment for MSGW, one (segment null) for CGW.

    ``next_incoming`` is the MsgSeqNum expected from the client, ``next_outgoing`` the one the
    gateway sends next. Both start again from 1 at the weekly start-up; ``reset_at`` is the start-up
    the stream belongs to.
    """

    target = models.ForeignKey(TargetSession, on_delete=models.CASCADE, related_name="sequence_streams")
    market_segment = models.PositiveSmallIntegerField(null=True, blank=True)
    next_incoming = models.PositiveIntegerField(default=1)
    next_outgoing = models.PositiveIntegerField(default=1)
    reset_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["target", "market_segment"],
                name="sequence_stream_unique",
                nulls_distinct=False,
            ),
        ]

    def __str__(self) -> str:
        segment = "CGW" if self.market_segment is None else f"segment {self.market_segment:02d}"
        return f"{self.target_id} {segment}: in {self.next_incoming}, out {self.next_outgoing}"


class SentMessage(models.Model):
    """A message the gateway sent on a client session, kept for resends (R15)."""

    target = models.ForeignKey(TargetSession, on_delete=models.CASCADE, related_name="sent_messages")
    market_segment = models.PositiveSmallIntegerField(null=True, blank=True)
    seq_num = models.PositiveIntegerField()
    msg_type = models.CharField(max_length=4)
    raw = models.BinaryField()
    sent_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["target", "market_segment", "seq_num"], name="sent_message_seq_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.target_id}/{self.market_segment} #{self.seq_num} 35={self.msg_type}"
