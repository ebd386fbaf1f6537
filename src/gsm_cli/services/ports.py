"""Is a port free on this machine? Tried for real by binding, TCP and UDP (game ports are both)."""

import socket


def in_use_by_another_program(port: int, host: str = "0.0.0.0") -> bool:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as sock:
            if kind == socket.SOCK_STREAM and hasattr(socket, "SO_EXCLUSIVEADDRUSE"):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)  # Windows
            try:
                sock.bind((host, port))
            except OSError:
                return True
    return False
