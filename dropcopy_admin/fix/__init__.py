"""Pure FIX 4.2 building blocks for the drop copy gateway and client: no sockets, no ORM, no Django.

- :mod:`.tags`: tag numbers and MsgType values.
- :mod:`.signature`: the CME secure-logon canonical string and HMAC-SHA256 signature.
- :mod:`.messages`: builders (values → bytes), :class:`~.messages.Message` (bytes → values), resend.
- :mod:`.framing`: :class:`~.framing.FrameReader`, framing a byte stream by BodyLength.
"""
