"""Where an openai proposer may send text: the endpoint guard.

An openai proposer posts document text to a URL an admin registered. The guard keeps that URL, and
every redirect it answers with, away from the addresses that hand out a cloud machine's credentials:
link-local 169.254.0.0/16 (169.254.169.254 is the metadata service of AWS, Google Cloud, Azure,
Oracle...), IPv6 link-local fe80::/10, AWS's fd00:ec2::254, Alibaba's 100.100.100.200, and metadata
host names (metadata.google.internal, instance-data...). A host is judged by the addresses it
resolves to (socket.getaddrinfo), so every spelling of an address (2852039166, 0xa9fea9fe,
::ffff:169.254.169.254, a trailing dot) and every name pointing there is refused. Loopback,
private and public hosts are allowed.

It is checked when a proposer is registered (`check_endpoint`) and on every request the proposer
sends, each redirect hop included (`guarded_client`); the connection then goes to the very address
that was checked, so a name that resolves elsewhere a moment later (DNS rebinding) gets nowhere.

Per deployment, comma-separated address ranges or host names (a name covers its subdomains):
  REDRAFT_ENDPOINTS_DENY=10.0.0.0/8,127.0.0.0/8,::1   refuse these as well
  REDRAFT_ENDPOINTS_ALLOW=169.254.10.0/24,vllm.lan      allow these despite a wider refusal
The most specific entry decides: a host name before any address range, a narrower range before a
wider one; on a tie the deployment's entry before a built-in one, and a refusal before an allowance.
The built-in refusals are entries like these (169.254.169.254 is one of its own, so allowing
169.254.0.0/16 still leaves it refused, unless it is allowed by itself); everything no entry covers
is allowed. So DENY=0.0.0.0/0,::/0 with ALLOW=api.openai.com allows that one host and nothing else.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from core.errors import InputError
from core.proposers.base import SpecData
from core.proposers.bounded import BoundedStream, connect_timeout

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# socket.getaddrinfo's signature and answer: (family, type, proto, canonname, sockaddr) tuples.
Resolver = Callable[..., Sequence[tuple[Any, ...]]]

ALLOW_ENV = "REDRAFT_ENDPOINTS_ALLOW"
DENY_ENV = "REDRAFT_ENDPOINTS_DENY"
BUILT_IN = "built in"
METADATA_NAMES = (
    "metadata",
    "metadata.google.internal",
    "metadata.goog",
    "instance-data",
    "instance-data.ec2.internal",
)
HINT = (
    "Proposers may not send text to link-local or cloud metadata addresses; whoever runs this deployment "
    f"can change what is allowed with {ALLOW_ENV} / {DENY_ENV}."
)


class EndpointRefused(InputError):
    """A proposer endpoint, or a redirect it answered with, points where proposers may not send text."""


@dataclass(frozen=True)
class Rule:
    """One entry: an address range or a host name (with its subdomains), allowed or refused."""

    allow: bool
    why: str  # completes "HOST is ...": "a cloud metadata address"
    network: Network | None = None
    name: str | None = None
    built_in: bool = False

    @property
    def specificity(self) -> int:
        if self.network is not None:
            return self.network.prefixlen
        return 1 + (self.name or "").count(".")

    def matches_name(self, host: str) -> bool:
        return self.name is not None and (host == self.name or host.endswith("." + self.name))

    def matches_address(self, address: IPAddress) -> bool:
        return self.network is not None and address.version == self.network.version and address in self.network


def _net(text: str) -> Network:
    return ipaddress.ip_network(text, strict=False)


def _built_in(why: str, network: str | None = None, name: str | None = None) -> Rule:
    return Rule(False, why, _net(network) if network else None, name, built_in=True)


BUILTIN_RULES: tuple[Rule, ...] = (
    _built_in("a cloud metadata address (AWS, Google Cloud, Azure, Oracle...)", "169.254.169.254/32"),
    _built_in("a link-local address (169.254.0.0/16), where cloud metadata services answer", "169.254.0.0/16"),
    _built_in("an IPv6 link-local address (fe80::/10)", "fe80::/10"),
    _built_in("a cloud metadata address (AWS instance metadata over IPv6)", "fd00:ec2::254/128"),
    _built_in("a cloud metadata address (Alibaba Cloud)", "100.100.100.200/32"),
    *(_built_in("a cloud metadata host name", name=name) for name in METADATA_NAMES),
)

_HOST_NAME = re.compile(r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$")


def read_rules(text: str, *, allow: bool, source: str) -> list[Rule]:
    """The entries of one setting (comma- or space-separated ranges and names); InputError naming a bad one."""
    rules = []
    verb = "allows" if allow else "refuses"
    for entry in re.split(r"[,\s]+", text.strip()):
        if not entry:
            continue
        try:
            network = _net(entry.strip("[]"))
        except ValueError:
            name = normalize_host(entry.removeprefix("*."))
            if not _HOST_NAME.match(name):
                raise InputError(
                    f"{source}: {entry!r} is neither an address range (10.0.0.0/8, ::1) nor a host name "
                    "(vllm.lan, which also covers its subdomains)."
                ) from None
            rules.append(Rule(allow, f"covered by {name}, which {source} {verb}", name=name))
        else:
            rules.append(Rule(allow, f"in {network}, which {source} {verb}", network=network))
    return rules


@dataclass(frozen=True)
class EndpointPolicy:
    """The built-in refusals and a deployment's own entries; the most specific matching one decides."""

    rules: tuple[Rule, ...] = BUILTIN_RULES

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> EndpointPolicy:
        env = os.environ if environ is None else environ
        extra = read_rules(env.get(DENY_ENV, ""), allow=False, source=DENY_ENV)
        extra += read_rules(env.get(ALLOW_ENV, ""), allow=True, source=ALLOW_ENV)
        return cls(BUILTIN_RULES + tuple(extra))

    def for_name(self, host: str) -> Rule | None:
        return _most_specific(r for r in self.rules if r.matches_name(host))

    def for_address(self, address: IPAddress) -> tuple[Rule | None, IPAddress]:
        """The deciding entry for an address, and the address it judged: for an IPv6 address that stands
        for an IPv4 one (::ffff:169.254.169.254) that one; for one that carries an IPv4 address (NAT64,
        6to4, Teredo), a refusal of either wins."""
        decided = [(_most_specific(r for r in self.rules if r.matches_address(v)), v) for v in _views(address)]
        refused = [(r, v) for r, v in decided if r is not None and not r.allow]
        return refused[0] if refused else next(((r, v) for r, v in decided if r is not None), (None, address))


def _most_specific(rules: Iterable[Rule]) -> Rule | None:
    # Narrower first; on a tie a deployment's entry over a built-in one, then a refusal over an allowance.
    return max(rules, key=lambda r: (r.specificity, not r.built_in, not r.allow), default=None)


_NAT64 = _net("64:ff9b::/96")
_IPV4_COMPATIBLE = _net("::/96")


def _views(address: IPAddress) -> list[IPAddress]:
    """The address, and the IPv4 address it stands for or carries."""
    if isinstance(address, ipaddress.IPv4Address):
        return [address]
    if address.ipv4_mapped is not None:  # ::ffff:169.254.169.254 is 169.254.169.254
        return [address.ipv4_mapped]
    views: list[IPAddress] = [address]
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        views.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address.sixtofour is not None:
        views.append(address.sixtofour)
    if address.teredo is not None:
        views.append(address.teredo[1])
    return views


def normalize_host(host: str) -> str:
    """Lower case, without IPv6 brackets or trailing dots ("METADATA.google.internal." is a metadata name)."""
    return host.strip().strip("[]").rstrip(".").lower()


_IPV4_PART = re.compile(r"^(0x[0-9a-f]+|0[0-7]*|[1-9][0-9]*)$")


def parse_address(host: str) -> IPAddress | None:
    """The address a host spells, in any form a resolver reads as one: IPv6, and IPv4 as inet_aton reads
    it (1 to 4 parts, each decimal, 0x-hex or 0-octal: 2852039166, 0xa9fea9fe, 0251.0376.0251.0376,
    169.254.43518); None for a host name."""
    host = normalize_host(host)
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            return None
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(_IPV4_PART.match(p) for p in parts):
        return None
    values = [int(p, 16) if p.startswith("0x") else int(p, 8) if p.startswith("0") else int(p) for p in parts]
    *head, last = values
    if any(v > 255 for v in head) or last >= 1 << (8 * (5 - len(values))):
        return None
    number = last
    for i, value in enumerate(head):
        number |= value << (8 * (3 - i))
    return ipaddress.IPv4Address(number)


class EndpointGuard:
    """Judges hosts by the policy and by the addresses the resolver (socket.getaddrinfo) gives for them."""

    def __init__(self, policy: EndpointPolicy | None = None, resolver: Resolver = socket.getaddrinfo) -> None:
        self.policy = EndpointPolicy.from_env() if policy is None else policy
        self.resolver = resolver

    def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Every address host resolves to; OSError when it resolves to none."""
        try:
            answers = self.resolver(host, port, 0, socket.SOCK_STREAM)
        except UnicodeError as exc:
            raise OSError(f"{host!r} is not a valid host name: {exc}") from exc
        addresses: list[IPAddress] = []
        for answer in answers:
            try:
                address = ipaddress.ip_address(answer[4][0])
            except (ValueError, IndexError, TypeError):
                continue
            if address not in addresses:
                addresses.append(address)
        if not addresses:
            raise OSError(f"{host} resolved to no address")
        return addresses

    def judge(self, host: str, port: int, what: str) -> list[IPAddress] | None:
        """The addresses to connect to for host, all allowed; None when its name is allowed outright (the
        deployment allows it by name). Raises EndpointRefused (what names the request) for a refused
        host, and OSError when a name resolves to nothing."""
        name = normalize_host(host)
        if not name:
            raise _refused(f"Refused {what}: it names no host.")
        literal = parse_address(name)
        if literal is not None:
            self._check_address(name, literal, what, resolved=False)
            return [literal]
        rule = self.policy.for_name(name)
        if rule is not None and rule.allow:
            return None
        if rule is not None:
            raise _refused(f"Refused {what}: {name} is {rule.why}. {HINT}")
        addresses = self.resolve(name, port)
        for address in addresses:
            self._check_address(name, address, what, resolved=True)
        return addresses

    def _check_address(self, host: str, address: IPAddress, what: str, *, resolved: bool) -> None:
        rule, view = self.policy.for_address(address)
        if rule is None or rule.allow:
            return
        if resolved:
            shown = str(address) if view == address else f"{address} ({view})"
            target = f"{host} resolves to {shown}, which is"
        elif host != str(view):
            target = f"{host} is {view},"  # 2852039166 is 169.254.169.254, ...
        else:
            target = f"{host} is"
        raise _refused(f"Refused {what}: {target} {rule.why}. {HINT}")

    def check_url(self, url: str | httpx.URL, action: str = "the request to") -> None:
        """Raise EndpointRefused if a request to url would reach a refused host ("Refused {action} {url}: ...").
        A name that does not resolve here passes (nothing to judge yet): the connection is judged again
        when it is made."""
        try:
            parsed = httpx.URL(url) if isinstance(url, str) else url
        except (httpx.InvalidURL, TypeError) as exc:
            raise InputError(f"Refused {action} a URL that is not valid: {exc}") from exc
        try:
            self.judge(parsed.host, parsed.port or _default_port(parsed), f"{action} {_display(parsed)}")
        except OSError:
            pass

    def check_request(self, request: httpx.Request) -> None:
        """httpx request hook: every request, each redirect hop included, before it is sent."""
        self.check_url(request.url)

    def check_redirect(self, response: httpx.Response) -> None:
        """httpx response hook: a redirect's target, before it is followed (a clearer message than the
        request hook's, which would judge the same host)."""
        if not response.has_redirect_location:
            return
        try:
            target = response.url.join(response.headers["location"])
        except (httpx.InvalidURL, KeyError):
            return  # httpx refuses it itself, or the request hook judges what it makes of it
        self.check_url(target, f"the redirect from {_display(response.url)} to")


def _refused(message: str) -> EndpointRefused:
    log.warning("%s", message)  # an attempt to reach a refused address is worth knowing about
    return EndpointRefused(message)


def _default_port(url: httpx.URL) -> int:
    return 443 if url.scheme == "https" else 80


def _display(url: httpx.URL) -> str:
    """The URL without user name or password, for messages."""
    return str(url.copy_with(username=None, password=None)) if url.userinfo else str(url)


class _GuardedBackend(httpcore.SyncBackend):
    """Connects only to addresses the guard allowed, resolved once: the check and the connection see the
    same address (no DNS rebinding between them)."""

    def __init__(self, guard: EndpointGuard) -> None:
        self.guard = guard

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        # Every read and write then honours the deadline and cancel of the request (core.proposers.bounded).
        timeout = connect_timeout(timeout)
        try:
            addresses = self.guard.judge(host, port, f"a connection to {host} port {port}")
        except OSError as exc:
            raise httpcore.ConnectError(f"could not resolve {host}: {exc}") from exc
        if addresses is None:  # allowed by name: connect as usual
            return BoundedStream(super().connect_tcp(host, port, timeout, local_address, socket_options))
        error: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                return BoundedStream(super().connect_tcp(str(address), port, timeout, local_address, socket_options))
            except httpcore.ConnectError as exc:
                error = exc
        assert error is not None  # judge returns at least one address
        raise error


def guarded_client(guard: EndpointGuard, **kwargs: Any) -> httpx.Client:
    """An httpx client that follows redirects, judging every request and redirect before it is sent and
    connecting only to the addresses judged."""
    transport = httpx.HTTPTransport()
    pool = getattr(transport, "_pool", None)
    # httpx has no public way to give its connection pool a network backend; the test suite checks
    # this still takes (test_connections_go_to_the_checked_address).
    if isinstance(pool, httpcore.ConnectionPool) and hasattr(pool, "_network_backend"):
        pool._network_backend = _GuardedBackend(guard)
    hooks: dict[str, list[Callable[..., Any]]] = {"request": [guard.check_request], "response": [guard.check_redirect]}
    return httpx.Client(transport=transport, follow_redirects=True, event_hooks=hooks, **kwargs)


def check_endpoint(spec: SpecData, guard: EndpointGuard | None = None) -> None:
    """Refuse (EndpointRefused) an openai spec whose base_url proposers may not reach; other kinds pass.
    Without a base_url the proposer uses the server's own OPENAI_BASE_URL or api.openai.com, set by whoever
    runs it, and the request-time guard still judges it."""
    if spec.kind != "openai":
        return
    base = spec.params.get("base_url")
    if not base:
        return
    (guard or EndpointGuard()).check_url(str(base), "the proposer endpoint")
