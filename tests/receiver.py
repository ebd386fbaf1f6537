"""A real HTTP receiver on 127.0.0.1 for alert tests: Apprise's ``json://`` URLs post each
message to it as ``{"title": ..., "message": ...}``."""

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    def __init__(self, status: int = 200) -> None:
        self.status = status  # what it answers (500: a receiver that refuses)
        self.messages: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with receiver.lock:
                    if receiver.status == 200:
                        receiver.messages.append(body)
                    receiver.paths.append(self.path)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]

    def url(self, path: str = "/hook") -> str:
        return f"json://127.0.0.1:{self.port}{path}"

    def received(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.messages)

    def titles(self) -> list[str]:
        return [m["title"] for m in self.received()]


@contextlib.contextmanager
def receiving(status: int = 200) -> Iterator[Receiver]:
    receiver = Receiver(status)
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
        thread.join(5)


def end_senders(home: Any) -> None:
    """Alert senders of this GSM_HOME still running at the end of a test: ended (each one
    exits by itself once no message waits; a test that fails midway may leave one waiting)."""
    import psutil

    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if "gsm_cli.alert_sender" in cmdline and str(home) in cmdline:
            with contextlib.suppress(psutil.Error):
                proc.kill()
