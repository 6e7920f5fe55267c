"""URL canonicalisation and suffix/prefix expressions, as Safe Browsing / Web Risk specify.

The steps follow Google's "URLs and Hashing" page (Safe Browsing v4, Web Risk):

1. remove tab, CR and LF; trim surrounding spaces; assume ``http://`` when no scheme;
2. remove the fragment;
3. percent-unescape repeatedly until nothing changes;
4. host: drop user info and port, remove leading/trailing dots, squeeze repeated dots,
   read any legal IPv4 form (decimal, octal, hex, fewer than four parts) as dotted quad,
   lower-case, IDN to punycode;
5. path: resolve ``/./`` and ``/../``, collapse ``//``; the query is kept as it is;
6. percent-escape every byte <= 0x20, >= 0x7f, ``#`` and ``%`` (upper-case hex).

Then the expressions a list is looked up by: up to 5 host suffixes (the exact host, then up
to four made from the last five labels, never the top-level domain alone; an IP address only
as itself) times up to 6 paths (exact with query, exact without query, then the root and up
to three directory prefixes). Expressions have no scheme: ``www.example.org/a/b.html``.

Everything works on bytes internally, as the specification does; ``str`` input is taken as
UTF-8 except that a non-ASCII host is converted to punycode first.
"""

from __future__ import annotations

import hashlib
import re
from typing import NamedTuple

__all__ = [
    "CanonicalUrl",
    "canonicalize",
    "expression_hash",
    "url_expressions",
]

_PERCENT = re.compile(rb"%([0-9A-Fa-f]{2})")
_SCHEME = re.compile(rb"^([A-Za-z][A-Za-z0-9+.-]*)://")
_DOTS = re.compile(rb"\.{2,}")
_MAX_UNESCAPE = 1024  # each pass removes at least one '%': a bound, never reached in practice
_ESCAPE_TABLE = [
    b"%%%02X" % b if (b <= 0x20 or b >= 0x7F or b in b"#%") else bytes([b]) for b in range(256)
]


class CanonicalUrl(NamedTuple):
    """A canonical URL split into its parts (all ASCII, already escaped)."""

    scheme: str
    host: str
    path: str
    query: str | None  # None: no '?' at all; "" : a '?' with nothing after it
    #: the host is an IPv4 address (its only expression host is itself)
    is_ip: bool = False

    @property
    def url(self) -> str:
        query = "" if self.query is None else "?" + self.query
        return f"{self.scheme}://{self.host}{self.path}{query}"


def _unescape_all(data: bytes) -> bytes:
    for _ in range(_MAX_UNESCAPE):
        if b"%" not in data:
            return data
        new = _PERCENT.sub(lambda m: bytes([int(m.group(1), 16)]), data)
        if new == data:
            return data
        data = new
    return data


_NEEDS_ESCAPE = re.compile(rb"[\x00-\x20\x7f-\xff#%]")


def _escape(data: bytes) -> str:
    if not _NEEDS_ESCAPE.search(data):
        return data.decode("ascii")
    return b"".join([_ESCAPE_TABLE[b] for b in data]).decode("ascii")


def _parse_ip_part(part: bytes) -> int | None:
    if not part:
        return None
    try:
        if part[:2] in (b"0x", b"0X"):
            return int(part[2:], 16) if len(part) > 2 else 0
        if len(part) > 1 and part[:1] == b"0":
            return int(part[1:], 8)
        if part.isdigit():
            return int(part)
    except ValueError:
        return None
    return None


_IP_LIKE = re.compile(rb"^(?:0[xX][0-9a-fA-F]*|\d+)(?:\.(?:0[xX][0-9a-fA-F]*|\d+)){0,3}$")


def _ipv4(host: bytes) -> str | None:
    """A host in any legal IPv4 form (``3279880203``, ``0xC3.0177.0.11``) as a dotted quad."""
    if not _IP_LIKE.match(host):
        return None
    parts = host.split(b".")
    if not 1 <= len(parts) <= 4:
        return None
    values = [_parse_ip_part(p) for p in parts]
    if any(v is None for v in values):
        return None
    nums = [v for v in values if v is not None]
    last_bytes = 5 - len(nums)  # the last part fills the remaining bytes
    if any(n > 255 for n in nums[:-1]) or nums[-1] >= 256**last_bytes:
        return None
    address = 0
    for n in nums[:-1]:
        address = (address << 8) | n
    address = (address << (8 * last_bytes)) | nums[-1]
    return ".".join(str((address >> s) & 0xFF) for s in (24, 16, 8, 0))


def _idna(host: bytes) -> bytes:
    """A non-ASCII host's labels in punycode (``xn--``); hosts IDNA refuses stay as bytes."""
    if host.isascii():
        return host
    try:
        text = host.decode("utf-8")
    except UnicodeDecodeError:
        return host
    labels = []
    for label in text.split("."):
        if label.isascii():
            labels.append(label.encode("ascii"))
            continue
        try:
            labels.append(label.encode("idna"))
        except UnicodeError:
            return host
    return b".".join(labels)


def _canonical_host(raw: bytes) -> tuple[bytes, bool]:
    host = raw.rpartition(b"@")[2]  # user info is never part of the host
    if host.startswith(b"["):  # bracketed IPv6: keep, lower-cased
        end = host.find(b"]")
        return (host[: end + 1].lower() if end > 0 else host.lower()), False
    colon = host.rfind(b":")
    if colon >= 0 and (host[colon + 1 :].isdigit() or colon == len(host) - 1):
        host = host[:colon]  # the port is not part of any expression
    host = host.strip(b".")
    if b".." in host:
        host = _DOTS.sub(b".", host)
    ip = _ipv4(host)
    if ip is not None:
        return ip.encode("ascii"), True
    return _idna(host).lower(), False


def _canonical_path(raw: bytes) -> bytes:
    if b"/." not in raw and b"//" not in raw:
        return raw  # nothing to resolve
    segments: list[bytes] = []
    parts = raw.split(b"/")
    for i, seg in enumerate(parts[1:], start=1):
        last = i == len(parts) - 1
        if seg == b"..":
            if segments:
                segments.pop()
            if last:
                segments.append(b"")
        elif seg == b"." or seg == b"":
            if last:
                segments.append(b"")
        else:
            segments.append(seg)
    path = b"/" + b"/".join(segments)
    return _DOUBLE_SLASH.sub(b"/", path) if b"//" in path else path


_DOUBLE_SLASH = re.compile(rb"/{2,}")


# A link already in canonical form but for case: http(s) or no scheme, a host of letters,
# digits and hyphens ending in a label that starts with a letter (so never an IP address),
# no port, user info, fragment, percent sign, space, or dot segment. Most links are; they
# skip the byte-level steps, which would leave them as they are (tested against them).
_SIMPLE = re.compile(
    r"(?:((?i:https?))://)?([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z][A-Za-z0-9-]*)"
    r"(/[A-Za-z0-9._~!$&'()*+,;=:@/-]*)?(?:\?([A-Za-z0-9._~!$&'()*+,;=:@/?-]*))?"
)


def canonicalize(url: str | bytes) -> CanonicalUrl:
    """The canonical form of ``url``; any string gives a result (a host may come out empty)."""
    if isinstance(url, str):
        simple = _SIMPLE.fullmatch(url)
        if simple is not None:
            scheme, host, path, query = simple.groups()
            if not path or ("/." not in path and "//" not in path):
                return CanonicalUrl(
                    scheme.lower() if scheme else "http", host.lower(), path or "/", query
                )
    data = _host_to_ascii(url) if isinstance(url, str) else url
    if b"\t" in data or b"\r" in data or b"\n" in data:
        data = data.replace(b"\t", b"").replace(b"\r", b"").replace(b"\n", b"")
    data = data.strip(b" ")
    data = data.partition(b"#")[0]
    data = _unescape_all(data)
    match = _SCHEME.match(data)
    if match:
        scheme = match.group(1).lower()
        rest = data[match.end() :]
    else:
        scheme = b"http"
        rest = data
    cut = len(rest)
    for sep in (b"/", b"?"):
        at = rest.find(sep)
        if 0 <= at < cut:
            cut = at
    host, is_ip = _canonical_host(rest[:cut])
    tail = rest[cut:]
    path_part, qmark, query = tail.partition(b"?")
    path = _canonical_path(path_part or b"/")
    return CanonicalUrl(
        scheme=_escape(scheme),
        host=_escape(host),
        path=_escape(path),
        query=_escape(query) if qmark else None,
        is_ip=is_ip,
    )


def _host_to_ascii(url: str) -> bytes:
    """``url`` as UTF-8 bytes, with a non-ASCII host (before any escaping) in punycode."""
    if url.isascii():
        return url.encode("ascii")
    match = re.match(r"^\s*(?:[A-Za-z][A-Za-z0-9+.-]*://)?", url)
    start = match.end() if match else 0
    end = start
    while end < len(url) and url[end] not in "/?#":
        end += 1
    authority = url[start:end]
    userinfo, at, hostport = authority.rpartition("@")
    host, colon, port = hostport.partition(":")
    if not host.isascii():
        converted = _idna(host.strip().encode("utf-8"))
        if converted.isascii():
            host = converted.decode("ascii")
    rebuilt = f"{userinfo}{at}{host}{colon}{port}"
    return (url[:start] + rebuilt + url[end:]).encode("utf-8")


def _host_suffixes(host: str, is_ip: bool) -> list[str]:
    """The exact host, then the suffixes made of its last five to two labels (never the
    exact host twice, never the last label alone), cut out at its dots: every suffix is
    shorter than the one before, so none repeats (tests/text checks the split-and-join
    definition gives the same)."""
    if is_ip or not host:
        return [host]
    dots = host.count(".")
    out = [host]
    if dots <= 4:  # five labels or fewer: after each dot but the last
        at = host.find(".")
        for _ in range(dots - 1):
            out.append(host[at + 1 :])
            at = host.find(".", at + 1)
        return out
    at = len(host)
    starts = []
    for _ in range(5):  # the last five dots, from the end
        at = host.rfind(".", 0, at)
        starts.append(at + 1)
    out.extend(host[i:] for i in reversed(starts[1:]))  # five labels, four, three, two
    return out


def _path_prefixes(path: str, query: str | None) -> list[str]:
    out: list[str] = []
    if query is not None:
        out.append(f"{path}?{query}")
    out.append(path)
    parts = path.split("/")[1:-1]  # directories, without the last component
    prefix = "/"
    if prefix not in out:
        out.append(prefix)
    for part in parts[:3]:
        prefix = f"{prefix}{part}/"
        if prefix not in out:
            out.append(prefix)
    return out[:6]


def url_expressions(url: str | bytes | CanonicalUrl) -> list[str]:
    """The host-suffix/path-prefix expressions to look ``url`` up by, most specific first."""
    canon = url if isinstance(url, CanonicalUrl) else canonicalize(url)
    paths = _path_prefixes(canon.path, canon.query)
    return [h + p for h in _host_suffixes(canon.host, canon.is_ip) for p in paths]


def lookup_expressions(canon: CanonicalUrl) -> list[str]:
    """:func:`url_expressions`, plus the exact host with ``www.`` in front when it has none.

    So a listed ``www.example.org/page`` matches a link to ``example.org/page`` as well as
    the other way round (which the host suffixes already give).
    """
    paths = _path_prefixes(canon.path, canon.query)
    return [h + p for h in lookup_hosts(canon) for p in paths]


def lookup_hosts(canon: CanonicalUrl) -> list[str]:
    """The hosts of :func:`lookup_expressions`, in its order."""
    hosts = _host_suffixes(canon.host, canon.is_ip)
    if not canon.is_ip and "." in canon.host and not canon.host.startswith("www."):
        hosts.append("www." + canon.host)
    return hosts


def lookup_paths(canon: CanonicalUrl) -> list[str]:
    """The paths of :func:`lookup_expressions`, in its order."""
    return _path_prefixes(canon.path, canon.query)


def expression_hash(expression: str) -> bytes:
    """The full SHA-256 of an expression, as hashed lists carry it."""
    return hashlib.sha256(expression.encode("utf-8")).digest()
