"""Is a port free on this machine? Tried for real by binding, TCP and UDP (game ports are both).

A probe binds the wildcard address, IPv4 and (where the machine has it) IPv6, so a program that
holds the port on any address is found. Only "address in use" counts: a port that this user may
not bind for another reason (below 1024 without privileges) is not called busy.

TCP probes set SO_REUSEADDR on POSIX, so the TIME_WAIT connections a game leaves behind when it
stops (for a few minutes) do not count as the port being in use at its next start, while a
program that listens there still does. Windows has no TIME_WAIT problem on bind; there the probe
asks for SO_EXCLUSIVEADDRUSE instead, so it cannot share a port that another program holds.
UDP probes never set SO_REUSEADDR: on Linux it would let the probe share a bound UDP port.
"""

import errno
import socket
import sys

IS_WINDOWS = sys.platform.startswith("win")
# Errors that mean "another socket holds this port" (WSAEACCES: held with exclusive use).
_IN_USE = {errno.EADDRINUSE, *([10013, 10048] if IS_WINDOWS else [])}
_PROTOCOLS = (("tcp", socket.SOCK_STREAM), ("udp", socket.SOCK_DGRAM))


def _families() -> list[tuple[socket.AddressFamily, str]]:
    families = [(socket.AF_INET, "0.0.0.0")]
    if socket.has_ipv6:
        families.append((socket.AF_INET6, "::"))
    return families


def _taken(family: socket.AddressFamily, host: str, kind: socket.SocketKind, port: int) -> bool:
    try:
        sock = socket.socket(family, kind)
    except OSError:  # no IPv6 on this machine
        return False
    with sock:
        if family == socket.AF_INET6:
            # Only IPv6 here: the IPv4 probe already covers IPv4 addresses.
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        if kind == socket.SOCK_STREAM:
            if IS_WINDOWS and hasattr(socket, "SO_EXCLUSIVEADDRUSE"):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
            elif not IS_WINDOWS:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.errno in _IN_USE
    return False


def busy_protocols(port: int) -> list[str]:
    """The protocols ("tcp", "udp") on which some program holds ``port`` on this machine."""
    return [
        name
        for name, kind in _PROTOCOLS
        if any(_taken(family, host, kind, port) for family, host in _families())
    ]


def in_use_by_another_program(port: int) -> bool:
    return bool(busy_protocols(port))
