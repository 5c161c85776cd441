"""Who is the client: the socket peer, unless trusted proxies say otherwise.

``X-Forwarded-For`` is attacker-controlled except for the entries our own proxies appended, so it
is only read when proxies are configured, and only as far as they vouch for it:

* a hop count ``n``: the client is the ``n``-th address from the right (each of our ``n`` proxies
  appended one), never anything further left;
* a list of CIDRs: starting at the socket peer (which must itself be trusted), walk the header
  from the right past trusted addresses; the first untrusted address is the client.

The result is also turned into a ban key: an address, or its IPv6 network when bans are
configured to cover a whole prefix (an IPv6 client controls at least a /64).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class ClientResolver:
    """Resolves the client address for a request from its peer and forwarding header."""

    def __init__(self, trusted_proxies: int | Sequence[str] = 0, ipv6_ban_prefix: int = 128):
        if isinstance(trusted_proxies, int):
            self.hops = trusted_proxies
            self.networks: tuple[IPNetwork, ...] = ()
        else:
            self.hops = 0
            self.networks = tuple(ipaddress.ip_network(c, strict=False) for c in trusted_proxies)
        self.ipv6_ban_prefix = ipv6_ban_prefix
        self.trusts_proxies = bool(self.hops or self.networks)
        """False when no proxy is trusted: ``X-Forwarded-For`` is then never read at all."""

    def client(self, peer: str | None, forwarded_for: str | None) -> str:
        """The client address; ``peer`` is the socket peer (``REMOTE_ADDR``)."""
        peer = _clean(peer) or "0.0.0.0"
        if not forwarded_for or (self.hops == 0 and not self.networks):
            return peer
        chain = [a for a in (_clean(x) for x in forwarded_for.split(",")[-64:]) if a]
        if self.hops:
            return chain[-self.hops] if len(chain) >= self.hops else peer
        if not self.is_trusted(peer):
            return peer
        for address in reversed(chain):
            if not self.is_trusted(address):
                return address
        return chain[0] if chain else peer

    def is_proxy(self, client: str) -> bool:
        """True when the resolved ``client`` is one of our own proxies, which must never be
        banned (that would ban everyone behind it): an address inside a trusted network.

        With a hop count the proxies' addresses are unknown: a request naming no client resolves
        to its socket peer, which may be the proxy or a client connecting directly, and is
        treated as a client (banning a direct client matters more). Configure the proxies as
        networks to protect them."""
        return bool(self.networks) and self.is_trusted(client)

    def is_trusted(self, address: str) -> bool:
        """True when ``address`` is inside one of the trusted proxy networks."""
        return in_networks(address, self.networks)

    def ban_key(self, address: str) -> str:
        """The unit a ban covers: the address, or its IPv6 network at the configured prefix."""
        return _ban_key(address, self.ipv6_ban_prefix)


@lru_cache(maxsize=8192)
def _ban_key(address: str, prefix: int) -> str:
    ip = _parse(address)
    if ip is None:
        return address[:64]
    if ip.version == 6 and prefix < 128:
        return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))
    return str(ip)


def in_networks(address: str, networks: Sequence[IPNetwork]) -> bool:
    """True when ``address`` falls inside any of ``networks``."""
    if not networks:
        return False
    ip = _parse(address)
    return ip is not None and any(ip in net for net in networks if net.version == ip.version)


def parse_networks(entries: Sequence[str]) -> tuple[IPNetwork, ...]:
    """Parse addresses and CIDRs (already validated by the config)."""
    return tuple(ipaddress.ip_network(e, strict=False) for e in entries)


def _parse(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


@lru_cache(maxsize=8192)
def _clean(value: str | None) -> str:
    if not value:
        return ""
    value = value.strip().strip('"')[:64]
    if value.startswith("[") and "]" in value:
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    ip = _parse(value)
    return str(ip) if ip is not None else ""
