"""The drop copy gateway (R19): a FIX 4.2 acceptor serving every live target's addresses.

``server`` accepts connections and follows the registry; ``session`` is the per-connection FIX
session state machine and ``resend`` its ResendRequest policy and replay (R15); ``store`` persists
sequence streams and sent messages; ``registry`` reads which targets, addresses and keys are live;
``synthetic`` generates the seeded execution reports that ``feed`` paces into sessions;
``certification`` watches AutoCert+ client sessions for the five certification checks (R9).
Sockets live here and in the test client only.
"""
