"""A small SMTP server for the tests: it takes every message and keeps it, in a thread."""

import email
import socketserver
import threading
from email.message import Message


class _Session(socketserver.StreamRequestHandler):
    def _reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        self._reply("220 test mail server ready")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            command = line.decode(errors="replace").strip().upper()
            if command.startswith(("EHLO", "HELO")):
                self._reply("250 test mail server")
            elif command.startswith(("MAIL FROM", "RCPT TO", "RSET", "NOOP")):
                self._reply("250 OK")
            elif command == "DATA":
                self._reply("354 end data with <CR><LF>.<CR><LF>")
                self.server.received.append(self._read_data())
                self._reply("250 OK: queued")
            elif command == "QUIT":
                self._reply("221 bye")
                return
            else:
                self._reply("502 not implemented")

    def _read_data(self) -> Message:
        lines = []
        while (line := self.rfile.readline()) not in (b".\r\n", b""):
            lines.append(line[1:] if line.startswith(b"..") else line)
        return email.message_from_bytes(b"".join(lines))


class MailServer(socketserver.ThreadingTCPServer):
    """Listens on 127.0.0.1:``port`` until :meth:`stop`; ``received`` holds the messages taken."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, port: int):
        super().__init__(("127.0.0.1", port), _Session)
        self.received: list[Message] = []
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)
