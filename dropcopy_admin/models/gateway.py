"""The drop copy gateway's own records (R19): sequence streams and the messages it sent (R15)."""

from django.db import models

from .targets import TargetSession


class SequenceStream(models.Model):
    """One sequence stream of a target: per market segment for MSGW, one (segment null) for CGW.

    ``next_incoming`` is the MsgSeqNum expected from the client, ``next_outgoing`` the one the
    gateway sends next. Both start again from 1 at the weekly start-up; ``reset_at`` is the start-up
    the stream belongs to. ``midweek_expected_seq_num`` is the NextExpectedMsgSeqNum (789) the
    gateway last sent in a Logout to a client logon with a MsgSeqNum too low on an AutoCert+ target
    (the mid-week logon check, R9), kept until the stream's next successful client logon, so a
    gateway started in between still knows it.
    """

    target = models.ForeignKey(TargetSession, on_delete=models.CASCADE, related_name="sequence_streams")
    market_segment = models.PositiveSmallIntegerField(null=True, blank=True)
    next_incoming = models.PositiveIntegerField(default=1)
    next_outgoing = models.PositiveIntegerField(default=1)
    reset_at = models.DateTimeField()
    midweek_expected_seq_num = models.PositiveIntegerField(null=True, blank=True)

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
        return f"{self.target.target_comp_id} {segment}: next in {self.next_incoming}, next out {self.next_outgoing}"


class SentMessage(models.Model):
    """Messages the gateway sent on a client session, kept for resends (R15).

    One row holds ``count`` consecutive messages of one type sent together (a burst of the feed is
    one row, not ten): numbers ``seq_num`` to ``seq_num + count - 1``, their frames one after the
    other in ``raw``.
    """

    target = models.ForeignKey(TargetSession, on_delete=models.CASCADE, related_name="sent_messages")
    market_segment = models.PositiveSmallIntegerField(null=True, blank=True)
    seq_num = models.PositiveIntegerField()
    count = models.PositiveIntegerField(default=1)
    msg_type = models.CharField(max_length=4)
    raw = models.BinaryField()
    sent_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["target", "market_segment", "seq_num"], name="sent_message_seq_idx"),
        ]

    def __str__(self) -> str:
        segment = "" if self.market_segment is None else f" segment {self.market_segment:02d}"
        numbers = f"message {self.seq_num}" if self.count == 1 else f"messages {self.seq_num}-{self.last_seq_num}"
        return f"{self.target.target_comp_id}{segment} {numbers} (35={self.msg_type})"

    @property
    def last_seq_num(self) -> int:
        return self.seq_num + self.count - 1


class FeedRequest(models.Model):
    """An on-demand run of the synthetic feed (R19): ``count`` drop copy messages for one target.

    ``manage.py feed_synthetic`` writes the row; the gateway process (a separate process) picks up
    pending rows of targets with a logged-on client session on its next registry read, sends the
    messages at ``rate_per_second`` and records its progress in ``sent``. A session that ends
    before the run is complete leaves the rest for the target's next logon (the seed replays the
    run, so the remaining messages are the same ones).
    """

    target = models.ForeignKey(TargetSession, on_delete=models.CASCADE, related_name="feed_requests")
    count = models.PositiveIntegerField()
    seed = models.BigIntegerField()
    rate_per_second = models.FloatField()
    sent = models.PositiveIntegerField(default=0)
    requested_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(count__gte=1), name="feed_request_count_positive"),
            models.CheckConstraint(condition=models.Q(sent__lte=models.F("count")), name="feed_request_sent_le_count"),
            models.CheckConstraint(condition=models.Q(rate_per_second__gt=0), name="feed_request_rate_positive"),
        ]
        indexes = [
            models.Index(
                fields=["target"], condition=models.Q(completed_at__isnull=True), name="feed_request_pending_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"Synthetic feed to {self.target.target_comp_id}: {self.sent} of {self.count} sent"
