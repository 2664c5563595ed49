"""The endpoint guard: link-local and cloud metadata addresses refused in every spelling, behind a DNS
name, a redirect and a rebinding resolver; loopback, private and public hosts allowed; a deployment's
own allow and deny lists. The HTTP tests run the openai proposer against real servers on 127.0.0.1.

Names are resolved by a small resolver function passed to the guard (socket.getaddrinfo's signature
and answer), as there is no DNS here; 'localhost' goes through the real socket.getaddrinfo."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core.errors import InputError
from core.proposers import make_request
from core.proposers.base import SpecData
from core.proposers.endpoints import (
    ALLOW_ENV,
    DENY_ENV,
    EndpointGuard,
    EndpointPolicy,
    EndpointRefused,
    check_endpoint,
    parse_address,
)
from core.proposers.openai_compat import OpenAIProposer
from core.proposers.registry import parse_spec

METADATA_URL = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"


def resolver(table: dict[str, list[str]], calls: list[str] | None = None):
    """A getaddrinfo for the names in table (each to its addresses, in turn if a list of lists)."""

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        if calls is not None:
            calls.append(host)
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in table[host]
        ]

    return getaddrinfo


def no_lookup(*args, **kwargs):
    raise AssertionError(f"an address literal was looked up: {args}")


def guard(env: dict[str, str] | None = None, table: dict[str, list[str]] | None = None, calls=None) -> EndpointGuard:
    policy = EndpointPolicy.from_env(env or {})
    return EndpointGuard(policy, resolver(table, calls) if table is not None else no_lookup)


# --- spellings ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://169.254.169.254/latest/v1", "169.254.169.254 is a cloud metadata address"),
        ("http://169.254.170.2/v2/credentials", "169.254.170.2 is a link-local address (169.254.0.0/16)"),
        ("http://[fe80::1]:8000/v1", "fe80::1 is an IPv6 link-local address"),
        ("http://[fd00:ec2::254]/latest", "fd00:ec2::254 is a cloud metadata address (AWS"),
        ("http://100.100.100.200/latest/meta-data", "100.100.100.200 is a cloud metadata address (Alibaba"),
        ("http://[::ffff:169.254.169.254]/", "::ffff:169.254.169.254 is 169.254.169.254, a cloud"),
        ("http://[::ffff:a9fe:a9fe]/", "::ffff:a9fe:a9fe is 169.254.169.254, a cloud metadata"),
        ("http://[64:ff9b::a9fe:a9fe]/", "64:ff9b::a9fe:a9fe is 169.254.169.254, a cloud"),
        ("http://2852039166/", "2852039166 is 169.254.169.254, a cloud metadata address"),
        ("http://0xa9fea9fe/", "0xa9fea9fe is 169.254.169.254"),
        ("http://0XA9FEA9FE/", "0xa9fea9fe is 169.254.169.254"),
        ("http://0xa9.0xfe.0xa9.0xfe/", "0xa9.0xfe.0xa9.0xfe is 169.254.169.254"),
        ("http://169.254.43518/", "169.254.43518 is 169.254.169.254"),
        ("http://169.16689662/", "169.16689662 is 169.254.169.254"),
        ("http://169.254.169.254./latest", "169.254.169.254 is a cloud metadata address"),
        ("http://169.254.169.254../latest", "169.254.169.254 is a cloud metadata address"),
        ("http://metadata.google.internal/computeMetadata/v1/", "metadata.google.internal is a cloud metadata host"),
        ("http://METADATA.Google.Internal./", "metadata.google.internal is a cloud metadata host name"),
        ("http://metadata.goog/", "metadata.goog is a cloud metadata host name"),
        ("http://metadata/computeMetadata/v1/", "metadata is a cloud metadata host name"),
        ("http://instance-data/latest/", "instance-data is a cloud metadata host name"),
        ("http://instance-data.ec2.internal./latest/", "instance-data.ec2.internal is a cloud metadata host"),
        ("http://v1.metadata.google.internal/", "v1.metadata.google.internal is a cloud metadata host name"),
        ("https://user:secret@169.254.169.254:443/v1", "169.254.169.254 is a cloud metadata address"),
    ],
)
def test_metadata_addresses_are_refused_in_every_spelling(url, shown):
    with pytest.raises(EndpointRefused) as refused:
        guard().check_url(url)  # no_lookup: none of these needs (or gets) a DNS answer
    message = str(refused.value)
    assert shown in message
    assert message.startswith("Refused the request to http")
    assert "REDRAFT_ENDPOINTS_ALLOW" in message  # what to change, for whoever runs the deployment
    assert "secret" not in message


def test_spellings_httpx_will_not_parse_are_refused_too():
    with pytest.raises(EndpointRefused, match="fe80::1%eth0 is an IPv6 link-local address"):
        guard().judge("fe80::1%eth0", 80, "a connection")
    with pytest.raises(EndpointRefused, match="0251.0376.0251.0376 is 169.254.169.254, a cloud metadata"):
        guard().judge("0251.0376.0251.0376", 80, "a connection")  # octal, as inet_aton reads it
    with pytest.raises(InputError, match="a URL that is not valid: Invalid IPv4 address"):
        guard().check_url("http://0251.0376.0251.0376/")


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2852039166", "169.254.169.254"),
        ("0xa9fea9fe", "169.254.169.254"),
        ("0xa9.0xfe.43518", "169.254.169.254"),
        ("0251.0376.0251.0376", "169.254.169.254"),
        ("127.1", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("10.0.0.1.", "10.0.0.1"),
        ("[::1]", "::1"),
        ("256.1.1.1", None),
        ("1.2.3.4.5", None),
        ("1.16777216", None),
        ("08.1.1.1", None),  # 8 is not an octal digit: a name, as the resolver sees it
        ("0x", None),
        ("cafe", None),
        ("1e100.net", None),
        ("api.openai.com", None),
    ],
)
def test_parse_address_reads_what_resolvers_read(host, address):
    parsed = parse_address(host)
    assert (str(parsed) if parsed is not None else None) == address


def test_a_name_is_judged_by_the_addresses_it_resolves_to():
    calls: list[str] = []
    table = {
        "rebind.example.test": ["169.254.169.254"],
        "mixed.example.test": ["93.184.215.14", "169.254.169.254"],
        "mapped.example.test": ["::ffff:169.254.169.254"],
        "v6.example.test": ["fe80::1%eth0"],
        "alibaba.example.test": ["100.100.100.200"],
    }
    g = guard(table=table, calls=calls)
    with pytest.raises(EndpointRefused) as refused:
        g.check_url("http://rebind.example.test:8000/v1")
    assert str(refused.value).startswith(
        "Refused the request to http://rebind.example.test:8000/v1: rebind.example.test resolves to "
        "169.254.169.254, which is a cloud metadata address"
    )
    with pytest.raises(EndpointRefused, match="mixed.example.test resolves to 169.254.169.254"):
        g.check_url("http://mixed.example.test/v1")  # one refused address is enough
    with pytest.raises(
        EndpointRefused, match=r"resolves to ::ffff:\S+ \(169\.254\.169\.254\), which is a cloud metadata"
    ):
        g.check_url("http://mapped.example.test/v1")
    with pytest.raises(EndpointRefused, match="resolves to fe80::1%eth0, which is an IPv6 link-local"):
        g.check_url("http://v6.example.test/v1")
    with pytest.raises(EndpointRefused, match="Alibaba"):
        g.check_url("http://ALIBABA.example.test./v1")
    assert calls == [
        "rebind.example.test",
        "mixed.example.test",
        "mapped.example.test",
        "v6.example.test",
        "alibaba.example.test",
    ]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/v1",
        "http://127.0.0.2:8000/v1",
        "http://[::1]:8000/v1",
        "http://0x7f000001:8000/v1",
        "http://10.1.2.3:8000/v1",
        "http://192.168.1.20/v1",
        "http://172.16.0.5/v1",
        "http://[fd12:3456::1]/v1",
        "http://100.64.0.1/v1",  # carrier-grade NAT, not Alibaba's one address
        "http://169.253.255.255/v1",
        "http://169.255.0.1/v1",
        "https://api.openai.com/v1",
        "http://metadata.example.com/v1",  # "metadata" covers its own subdomains, not a word in a name
        "http://unresolvable.example.test/v1",  # nothing to judge yet; the connection is judged again
    ],
)
def test_loopback_private_and_public_hosts_are_allowed(url):
    table = {"api.openai.com": ["162.159.140.245", "2606:4700::6812:1"], "metadata.example.com": ["93.184.215.14"]}
    guard(table=table).check_url(url)


def test_localhost_through_the_real_resolver_is_allowed():
    real = EndpointGuard(EndpointPolicy.from_env({}))
    addresses = real.judge("localhost", 8000, "a connection")
    assert addresses and all(a.is_loopback for a in addresses)
    real.check_url("http://localhost:8000/v1")


# --- a deployment's allow and deny lists --------------------------------------------------------------


def test_deny_wins_over_the_built_in_allow():
    g = guard({DENY_ENV: "10.0.0.0/8, 127.0.0.0/8,::1"}, table={"llm.lan": ["10.9.8.7"]})
    with pytest.raises(EndpointRefused, match=r"10\.1\.2\.3 is in 10\.0\.0\.0/8, which REDRAFT_ENDPOINTS_DENY refuses"):
        g.check_url("http://10.1.2.3:8000/v1")
    with pytest.raises(EndpointRefused, match=r"llm\.lan resolves to 10\.9\.8\.7, which is in 10\.0\.0\.0/8"):
        g.check_url("http://llm.lan/v1")
    with pytest.raises(EndpointRefused, match="127.0.0.0/8"):
        g.check_url("http://127.0.0.1:8000/v1")
    with pytest.raises(EndpointRefused, match=r"::1/128"):
        g.check_url("http://[::1]:8000/v1")
    with pytest.raises(EndpointRefused, match=r"::ffff:127\.0\.0\.1 is 127\.0\.0\.1, in 127\.0\.0\.0/8"):
        g.check_url("http://[::ffff:127.0.0.1]:8000/v1")
    g.check_url("http://192.168.1.20/v1")


def test_denied_loopback_through_the_real_resolver(monkeypatch):
    monkeypatch.setenv(DENY_ENV, "127.0.0.0/8,::1")
    monkeypatch.delenv(ALLOW_ENV, raising=False)
    with pytest.raises(EndpointRefused, match="localhost resolves to"):
        EndpointGuard().check_url("http://localhost:8000/v1")


def test_deny_names_cover_subdomains():
    g = guard({DENY_ENV: "corp.internal"}, table={"llm.corp.internal": ["10.0.0.5"]})
    with pytest.raises(EndpointRefused, match="llm.corp.internal is covered by corp.internal, which REDRAFT_ENDP"):
        g.check_url("http://llm.corp.internal/v1")
    with pytest.raises(EndpointRefused, match="covered by corp.internal"):
        g.check_url("http://CORP.internal./v1")
    g.check_url("http://notcorp.internal/v1")


def test_allow_opens_a_narrower_range_but_not_the_metadata_address():
    g = guard({ALLOW_ENV: "169.254.0.0/16"})
    g.check_url("http://169.254.10.5:8000/v1")  # a model server on a link-local network, deliberately
    with pytest.raises(EndpointRefused, match="169.254.169.254 is a cloud metadata address"):
        g.check_url("http://169.254.169.254/latest/v1")  # its own /32 entry is more specific
    guard({ALLOW_ENV: "169.254.169.254"}).check_url("http://169.254.169.254/v1")  # said outright, it opens
    g_wide = guard({ALLOW_ENV: "0.0.0.0/0"})
    with pytest.raises(EndpointRefused, match="link-local"):
        g_wide.check_url("http://169.254.1.1/v1")


def test_allow_carves_an_exception_out_of_a_deny():
    g = guard({DENY_ENV: "10.0.0.0/8", ALLOW_ENV: "10.1.2.3"})
    g.check_url("http://10.1.2.3/v1")
    with pytest.raises(EndpointRefused, match="10.0.0.0/8"):
        g.check_url("http://10.1.2.4/v1")
    tie = guard({DENY_ENV: "10.0.0.0/8", ALLOW_ENV: "10.0.0.0/8"})
    with pytest.raises(EndpointRefused, match="REDRAFT_ENDPOINTS_DENY"):  # on a tie, deny wins
        tie.check_url("http://10.1.2.3/v1")


def test_allow_list_only_deployment():
    calls: list[str] = []
    g = guard(
        {DENY_ENV: "0.0.0.0/0,::/0", ALLOW_ENV: "api.openai.com, *.vllm.lan"},
        table={"evil.example": ["93.184.215.14"], "gpu1.vllm.lan": ["10.0.0.7"]},
        calls=calls,
    )
    g.check_url("https://api.openai.com/v1")
    g.check_url("http://gpu1.vllm.lan:8000/v1")
    assert calls == []  # allowed by name: nothing to resolve
    with pytest.raises(EndpointRefused, match=r"evil\.example resolves to 93\.184\.215\.14, which is in 0\.0\.0\.0/0"):
        g.check_url("https://evil.example/v1")
    with pytest.raises(EndpointRefused, match=r"127\.0\.0\.1 is in 0\.0\.0\.0/0"):
        g.check_url("http://127.0.0.1:8000/v1")


def test_a_bad_setting_is_named():
    with pytest.raises(InputError, match=r"REDRAFT_ENDPOINTS_DENY: '10\.0\.0\.0/33' is neither an address range"):
        EndpointPolicy.from_env({DENY_ENV: "10.0.0.0/8,10.0.0.0/33"})
    with pytest.raises(InputError, match="REDRAFT_ENDPOINTS_ALLOW: 'http://x/' is neither"):
        EndpointPolicy.from_env({ALLOW_ENV: "http://x/"})


def test_check_endpoint_judges_openai_specs_only():
    with pytest.raises(EndpointRefused, match=r"Refused the proposer endpoint http://169\.254\.169\.254/latest/v1: "):
        check_endpoint(parse_spec("openai:http://169.254.169.254/latest/v1#x"), guard())
    json_spec = '{"kind": "openai", "model": "x", "params": {"base_url": "http://metadata.google.internal/v1"}}'
    with pytest.raises(EndpointRefused, match="metadata.google.internal is a cloud metadata host name"):
        check_endpoint(parse_spec(json_spec), guard())
    check_endpoint(parse_spec("openai:http://127.0.0.1:8000/v1#qwen"), guard())
    check_endpoint(parse_spec("openai#gpt-4o-mini"), guard())  # the server's own OPENAI_BASE_URL or api.openai.com
    check_endpoint(parse_spec("builtin"), guard())
    check_endpoint(SpecData(kind="hf-chat", model="http://169.254.169.254/"), guard())  # a model path, not a URL


# --- the openai proposer against real servers on 127.0.0.1 --------------------------------------------


class Server:
    """An HTTP server on 127.0.0.1; `answer(method, path) -> (status, headers, body bytes)`."""

    def __init__(self, answer):
        self.seen: list[tuple[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                server.seen.append((self.command, self.path))
                status, headers, body = answer(self.command, self.path)
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = handle_any

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve():
    servers: list[Server] = []

    def start(answer):
        servers.append(Server(answer))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


@pytest.fixture
def connections(monkeypatch):
    """Every address a TCP connection is opened to (socket.create_connection, which httpcore uses)."""
    opened: list[str] = []
    real = socket.create_connection

    def create_connection(address, *args, **kwargs):
        opened.append(address[0])
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", create_connection)
    return opened


def completion(content: str):
    choice = {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
    return 200, {}, json.dumps({"object": "chat.completion", "choices": [choice]}).encode()


def redirect_to(location: str, status: int = 302):
    return lambda method, path: (status, {"Location": location}, b"")


def openai(url: str, g: EndpointGuard | None = None, **params) -> OpenAIProposer:
    params = {"base_url": url, "cache": False, "backoff_s": 0.01, "timeout_s": 30, **params}
    proposer = OpenAIProposer(SpecData(kind="openai", model="m", params=params))
    if g is not None:
        proposer.guard = g  # the same guard, with the test's resolver
    return proposer


SENTENCE = "He go home."


def test_a_redirect_to_the_metadata_address_is_not_followed(serve, connections):
    server = serve(redirect_to(METADATA_URL))
    started = time.monotonic()
    with pytest.raises(EndpointRefused) as refused:
        openai(server.url).propose(make_request(SENTENCE))
    assert time.monotonic() - started < 5  # refused, not timed out (timeout_s is 30, with 3 retries)
    assert str(refused.value).startswith(
        f"Refused the redirect from {server.url}/chat/completions to {METADATA_URL}: "
        "169.254.169.254 is a cloud metadata address"
    )
    assert server.seen == [("POST", "/v1/chat/completions")]  # one request: a refusal is not retried
    assert connections == ["127.0.0.1"]  # and nothing was opened towards 169.254.169.254


def test_a_redirect_to_a_name_for_the_metadata_address_is_not_followed(serve, connections):
    calls: list[str] = []
    g = EndpointGuard(EndpointPolicy.from_env({}), resolver({"creds.example.test": ["169.254.169.254"]}, calls))
    server = serve(redirect_to("http://creds.example.test/latest/meta-data/", status=307))
    with pytest.raises(EndpointRefused, match="creds.example.test resolves to 169.254.169.254, which is a cloud"):
        openai(server.url, g).propose(make_request(SENTENCE))
    assert calls == ["creds.example.test"]
    assert connections == ["127.0.0.1"]


def test_a_relative_redirect_and_one_to_an_allowed_host_are_followed(serve, connections):
    calls: list[str] = []
    g = EndpointGuard(EndpointPolicy.from_env({}), resolver({"llm.example.test": ["127.0.0.1"]}, calls))
    model = serve(lambda method, path: completion("He goes home.") if method == "POST" else (405, {}, b""))
    elsewhere = f"http://llm.example.test:{model.port}/v1/chat/completions"
    moved = serve(
        lambda method, path: (
            (308, {"Location": "/v2/chat/completions"}, b"")
            if path.startswith("/v1")
            else (307, {"Location": elsewhere}, b"")
        )
    )
    result = openai(moved.url, g).propose(make_request(SENTENCE))
    assert [s.replacement for s in result.suggestions] == ["He goes home."]
    assert moved.seen == [("POST", "/v1/chat/completions"), ("POST", "/v2/chat/completions")]
    assert model.seen == [("POST", "/v1/chat/completions")]  # 307 and 308 keep the POST and its body
    # llm.example.test is no name the system resolves: the connection went to the address the guard checked.
    assert "llm.example.test" in calls and set(connections) == {"127.0.0.1"}


def test_connections_go_to_the_checked_address(serve, connections):
    """A resolver that answers 127.0.0.1 when asked first and 169.254.169.254 after (DNS rebinding): the
    request hook sees the loopback address, the connection is judged on its own lookup and refused."""
    model = serve(lambda method, path: completion("He goes home."))
    answers = iter([["127.0.0.1"], ["169.254.169.254"]])

    def rebinding(host, port, *args):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in next(answers, ["169.254.169.254"])]

    g = EndpointGuard(EndpointPolicy.from_env({}), rebinding)
    with pytest.raises(
        EndpointRefused, match=r"a connection to rebind\.example\.test port \d+: rebind\.example\.test resolves to 169"
    ):
        openai(f"http://rebind.example.test:{model.port}/v1", g).propose(make_request(SENTENCE))
    assert connections == [] and model.seen == []

    # A steady name connects, to the address the guard resolved (the system cannot resolve this name).
    steady = EndpointGuard(EndpointPolicy.from_env({}), resolver({"steady.example.test": ["127.0.0.1"]}))
    result = openai(f"http://steady.example.test:{model.port}/v1", steady).propose(make_request(SENTENCE))
    assert [s.replacement for s in result.suggestions] == ["He goes home."]
    assert connections == ["127.0.0.1"]


def test_a_stored_metadata_endpoint_is_refused_at_request_time(connections):
    """A spec stored before the guard existed (or by another path) never reaches the address."""
    for url in ("http://169.254.169.254/latest/v1", "http://[::ffff:169.254.169.254]/v1", "http://2852039166/v1"):
        with pytest.raises(EndpointRefused, match=r"Refused the request to .*169\.254\.169\.254"):
            openai(url).propose(make_request(SENTENCE))
    assert connections == []


def test_the_deployment_settings_apply_at_request_time(serve, connections, monkeypatch):
    server = serve(lambda method, path: completion("He goes home."))
    monkeypatch.setenv(DENY_ENV, "127.0.0.0/8")
    with pytest.raises(EndpointRefused, match=r"127\.0\.0\.1 is in 127\.0\.0\.0/8, which REDRAFT_ENDPOINTS_DENY"):
        openai(server.url).propose(make_request(SENTENCE))
    assert server.seen == [] and connections == []
    monkeypatch.setenv(DENY_ENV, "")
    assert [s.replacement for s in openai(server.url).propose(make_request(SENTENCE)).suggestions] == ["He goes home."]
