"""The drop copy gateway (R19): a FIX 4.2 acceptor serving every live target's addresses.

``server`` accepts connections and follows the registry; ``session`` is the per-connection FIX
session state machine, built on ``connection`` (numbering, building with ``fix.messages``,
storing and writing one connection's messages); ``resend`` is its ResendRequest policy and replay
(R15); ``store`` persists sequence streams and sent messages; ``registry`` reads which targets,
addresses and keys are live; ``synthetic`` generates the seeded execution reports that ``feed``
paces into sessions; ``certification`` watches AutoCert+ client sessions for the five
certification checks (R9); ``presence`` records what this process serves.

Imports point one way: ``server`` → ``session`` → ``resend``, ``certification``, ``feed`` →
``connection``. A session reaches its gateway through ``connection.SessionHost``, handed in.
Sockets live here and in the test client only.
"""
