"""Where the product's outgoing calls may go: a webhook carries client data to a partner's system, so it goes
over https to an address on the public internet, never inside the network it runs in (SSRF).

The check runs when an address is saved and again right before each call: the name is resolved, every
address it resolves to is checked, and the call connects to the checked address (TLS still verifies the
name), so a name that resolves elsewhere by the time of the call (DNS rebinding) reaches nothing inside.
Loopback is allowed only where `PATHWAYS_WEBHOOK_LOOPBACK` says so: development and tests on one machine.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

LOOPBACK_NAMES = frozenset({"localhost"})
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class AddressRefused(ValueError):
    """The address is not one the product may call; the message says why."""


@dataclass(frozen=True)
class CheckedTarget:
    """A URL whose host resolved to an allowed address: call `ip_url` and name the host in Host and TLS."""

    url: str
    host: str
    ip_url: str

    @property
    def host_header(self) -> str:
        return urlsplit(self.url).netloc.rpartition("@")[2]


def _refused_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address, *, loopback: bool) -> str | None:
    if isinstance(address, ipaddress.IPv6Address):
        # An IPv4 address carried inside IPv6 (mapped, NAT64, 6to4) is judged as the IPv4 address it reaches.
        if address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        elif address in _NAT64:
            address = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        elif address.sixtofour is not None:
            address = address.sixtofour
    if address.is_loopback:
        return None if loopback else "it is this machine (loopback)"
    if address.is_link_local:
        return "it is link-local (cloud metadata services live there)"
    if address.is_private or address.is_reserved or address.is_multicast or address.is_unspecified:
        return "it is inside a private or reserved network"
    if not address.is_global:
        return "it is not a public internet address"
    return None


def _parts(url: str, *, loopback: bool) -> SplitResult:
    parts = urlsplit(url)
    host = parts.hostname
    if not host:
        raise AddressRefused("the address has no host")
    if parts.username or parts.password:
        raise AddressRefused("the address may not carry a user name or password")
    is_loopback_name = host in LOOPBACK_NAMES or _is_loopback_literal(host)
    if parts.scheme == "https":
        return parts
    if parts.scheme == "http" and loopback and is_loopback_name:
        return parts
    raise AddressRefused("the address must use https (client data goes to it)")


def _is_loopback_literal(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve(url: str, *, loopback: bool = False) -> CheckedTarget:
    """Resolve the URL's host and check every address it has; the call then goes to the first one."""
    parts = _parts(url, loopback=loopback)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as err:
        raise AddressRefused("the address's port is not a number from 1 to 65535") from err
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as err:
        raise AddressRefused(f"the host {host!r} does not resolve") from err
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    for address in addresses:
        reason = _refused_address(address, loopback=loopback)
        if reason is not None:
            raise AddressRefused(f"the host {host!r} resolves to {address}: {reason}")
    chosen = addresses[0]
    literal = f"[{chosen}]" if chosen.version == 6 else str(chosen)
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    return CheckedTarget(url=url, host=host, ip_url=parts._replace(netloc=netloc).geturl())


def check_saved(url: str, *, loopback: bool = False) -> None:
    """The check when an address is saved: its shape, and every address its host has now. A name that does not
    resolve from here is accepted (the partner's system may not be up yet); each call checks it again."""
    try:
        resolve(url, loopback=loopback)
    except AddressRefused as err:
        if isinstance(err.__cause__, (socket.gaierror, UnicodeError)):
            return
        raise
