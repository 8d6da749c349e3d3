"""Seeded traffic for the edge lab: a small web shop, its builds, and visitors who browse it.

Plain Python (no moto, no HTTP): the lesson and the checks hand :func:`browse` a ``fetch``
function (``labkit.edge.fetch`` in a lab) and the lab clock, so the same seeded traffic plays out
the same way every time.

- :func:`site_build` is one build of the shop: two HTML pages and the assets they load, each
  file marked with its build number (``build 2``), so that a visitor's copy tells which build it
  came from.
- :func:`visits` is who opens which page when: viewers in a few cities, each arriving at random
  (exponential gaps, a Poisson process) with a seeded ``random.Random``; some visits come from a
  newsletter link that adds a ``?ref=...`` query string, as marketing links do.
- :func:`browse` plays visits on the clock like a browser: it fetches the page, reads the
  ``src``/``href`` paths the HTML names, and fetches those too, at the same instant.

Nothing here knows about CloudFront's rules: it only records what came back (status, the
``X-Cache`` verdict, the build each body carries, latency), and :class:`BrowseReport` sums it up.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from labkit.clock import Clock
from labkit.errors import LabkitError

#: The cities the checks and the lesson send visitors from (one per continent, more or less).
SHOP_AUDIENCE: tuple[str, ...] = (
    "New York",
    "London",
    "Frankfurt",
    "Tokyo",
    "Sao Paulo",
    "Sydney",
)

#: The pages of the shop and how often a visit opens each.
PAGES: tuple[tuple[str, float], ...] = (("/index.html", 0.7), ("/products.html", 0.3))

#: The assets each page loads (paths as the HTML names them).
PAGE_ASSETS: Mapping[str, tuple[str, ...]] = {
    "/index.html": ("/assets/site.css", "/assets/app.js", "/assets/logo.svg", "/assets/hero.jpg"),
    "/products.html": (
        "/assets/site.css",
        "/assets/app.js",
        "/assets/logo.svg",
        "/assets/products.jpg",
    ),
}

_CONTENT_TYPES = {
    ".html": "text/html",
    ".css": "text/css",
    ".js": "application/javascript",
    ".svg": "image/svg+xml",
    ".jpg": "image/jpeg",
}

_BUILD = re.compile(r"build ([A-Za-z0-9._-]+)")
_LINKS = re.compile(r"""(?:src|href)\s*=\s*["'](/[^"'#]*)[^"']*["']""")


class TraceError(LabkitError):
    """A traffic setting that cannot be played (no cities, a negative duration, ...)."""

    code = "TraceError"


# -- the shop --------------------------------------------------------------------------------
@dataclass(frozen=True)
class SiteFile:
    """One file of a build.

    Attributes:
        key: Its S3 key (the URL path without the leading ``/``).
        body: Its content (text; images are stand-ins that say what they are).
        content_type: Its ``Content-Type``.
    """

    key: str
    body: str
    content_type: str


def content_type(key: str) -> str:
    """The ``Content-Type`` the shop serves ``key`` with."""
    for suffix, kind in _CONTENT_TYPES.items():
        if key.endswith(suffix):
            return kind
    return "binary/octet-stream"


def _page(title: str, path: str, version: str) -> str:
    css, js, logo, image = PAGE_ASSETS[path]
    return (
        f'<!doctype html>\n<html><head><title>{title}</title>\n<link rel="stylesheet" '
        f'href="{css}">\n<script src="{js}"></script></head>\n<body><img src="{logo}" '
        f'alt="logo"><h1>{title}</h1>\n<img src="{image}" alt="{title}">\n'
        f"<!-- build {version} --></body></html>\n"
    )


def site_build(version: str | int) -> dict[str, SiteFile]:
    """Build ``version`` of the shop: every file by S3 key, each marked ``build <version>``.

    The HTML names its assets with plain paths (``/assets/app.js``): a deploy that gives assets
    versioned names rewrites those paths in the HTML it uploads.
    """
    v = str(version)
    if not _BUILD.fullmatch(f"build {v}"):
        raise TraceError(f"A build version is letters, digits, '.', '_' or '-', not {v!r}.")
    files = {
        "index.html": _page("Edge shop", "/index.html", v),
        "products.html": _page("Products", "/products.html", v),
        "assets/site.css": f"/* build {v} */\nbody {{ font-family: sans-serif; }}\n",
        "assets/app.js": f"// build {v}\nconsole.log('shop ready');\n",
        "assets/logo.svg": f'<svg xmlns="http://www.w3.org/2000/svg"><!-- build {v} --></svg>\n',
        "assets/hero.jpg": f"JPEG stand-in: hero picture, build {v}\n",
        "assets/products.jpg": f"JPEG stand-in: products picture, build {v}\n",
    }
    return {key: SiteFile(key, body, content_type(key)) for key, body in files.items()}


def build_of(body: bytes | str) -> str | None:
    """The build a response body carries (``"2"``), or ``None`` when it names none."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    found = _BUILD.search(text)
    return found.group(1) if found else None


def linked_paths(html: bytes | str) -> list[str]:
    """The site paths an HTML page loads (``src``/``href`` values that start with ``/``), query
    strings kept (``/app.js?v=2`` is what a browser asks for)."""
    text = html.decode("utf-8", "replace") if isinstance(html, bytes) else html
    return list(dict.fromkeys(_LINKS.findall(text)))


# -- visitors ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Visit:
    """One visitor opening one page.

    Attributes:
        at: Seconds after the traffic starts.
        viewer: The city the visitor is in.
        page: The path opened, query string included (``/index.html?ref=mail-17``).
    """

    at: float
    viewer: str
    page: str


def visits(
    cities: Sequence[str] = SHOP_AUDIENCE,
    *,
    duration: float,
    mean_gap: float = 10.0,
    seed: int = 4,
    pages: Sequence[tuple[str, float]] = PAGES,
    tagged_share: float = 0.0,
    start: float = 0.0,
) -> list[Visit]:
    """Visits from ``cities`` during ``duration`` seconds, in time order.

    Each city's visitors arrive as a Poisson process (exponential gaps of mean ``mean_gap``
    seconds); each visit opens a page drawn by the ``pages`` weights.

    Args:
        cities: Where visitors are.
        duration: How long the traffic lasts, seconds.
        mean_gap: Average seconds between two visits from the same city.
        seed: Seed of the ``random.Random`` that draws everything.
        pages: ``(path, weight)`` pairs.
        tagged_share: Share of visits that arrive through a newsletter link with a
            ``?ref=mail-<n>`` query string (each link a different ``n``).
        start: When the first visit may happen (seconds), for a second stretch of traffic.

    Raises:
        TraceError: On no city, a negative duration or a gap that is not positive.
    """
    if not cities:
        raise TraceError("Give at least one city for visitors to come from.")
    if duration < 0 or mean_gap <= 0:
        raise TraceError("duration must be zero or more and mean_gap positive.")
    if not 0.0 <= tagged_share <= 1.0:
        raise TraceError(f"tagged_share is a share between 0 and 1, not {tagged_share}.")
    rng = random.Random(seed)
    paths = [p for p, _ in pages]
    weights = [w for _, w in pages]
    out: list[Visit] = []
    for city in cities:
        t = start + rng.expovariate(1.0 / mean_gap)
        while t < start + duration:
            page = rng.choices(paths, weights)[0]
            if rng.random() < tagged_share:
                page += f"?ref=mail-{rng.randrange(1_000_000)}"
            out.append(Visit(round(t, 3), city, page))
            t += rng.expovariate(1.0 / mean_gap)
    out.sort(key=lambda v: (v.at, v.viewer))
    return out


# -- browsing ---------------------------------------------------------------------------------
class Answer(Protocol):
    """What ``fetch`` returns (``labkit.edge.fetch`` returns one): the parts browsing reads."""

    @property
    def status(self) -> int: ...

    @property
    def body(self) -> bytes: ...

    @property
    def cache(self) -> str: ...

    @property
    def latency_ms(self) -> float: ...

    @property
    def served_by(self) -> str: ...


Fetch = Callable[[str, str], Answer]


@dataclass(frozen=True)
class Fetched:
    """One file a visit fetched.

    Attributes:
        at: Seconds after the traffic starts.
        viewer: The visitor's city.
        path: The path requested (query string included).
        status: The status code (0: no answer at all).
        cache: CloudFront's verdict (``Hit``, ``Miss``, ``RefreshHit``, ``Error``) or ``""``.
        build: The build the body carries, ``None`` when it names none.
        latency_ms: Modelled time to first byte, milliseconds.
        served_by: The edge location (or endpoint) that answered.
    """

    at: float
    viewer: str
    path: str
    status: int
    cache: str
    build: str | None
    latency_ms: float
    served_by: str


@dataclass(frozen=True)
class VisitResult:
    """A visit and every file it fetched (the page first)."""

    visit: Visit
    files: tuple[Fetched, ...]

    @property
    def builds(self) -> set[str | None]:
        """The builds the visitor's files came from."""
        return {f.build for f in self.files}

    @property
    def ok(self) -> bool:
        """Whether every file arrived (status 200)."""
        return all(f.status == 200 for f in self.files)


@dataclass
class BrowseReport:
    """What :func:`browse` saw, with the sums the lesson and checks need."""

    results: list[VisitResult] = field(default_factory=list)

    @property
    def files(self) -> list[Fetched]:
        """Every file fetched, in order."""
        return [f for r in self.results for f in r.files]

    def hit_ratio(self) -> float:
        """Share of files answered ``Hit``: from the edge cache, without asking the origin.

        A ``RefreshHit`` is not counted: the edge had to ask the origin whether its copy was
        still current, a round trip to the origin like a miss (only the body did not travel).
        """
        files = self.files
        return sum(1 for f in files if f.cache == "Hit") / len(files) if files else 0.0

    def verdicts(self) -> dict[str, int]:
        """How many files got each ``X-Cache`` verdict."""
        counts: dict[str, int] = {}
        for f in self.files:
            counts[f.cache or "none"] = counts.get(f.cache or "none", 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: -kv[1]))

    def stale(self, current: str, since: float) -> list[VisitResult]:
        """Visits from ``since`` on that got any file of a build other than ``current``."""
        return [
            r
            for r in self.results
            if r.visit.at >= since and any(f.build not in (current, None) for f in r.files)
        ]

    def failed(self) -> list[VisitResult]:
        """Visits where some file did not arrive (an error status, or no answer)."""
        return [r for r in self.results if not r.ok]

    def hit_ratio_over_time(self, window: float) -> list[tuple[float, float]]:
        """``(window start, hit ratio)`` for each ``window`` seconds that saw requests."""
        if window <= 0:
            raise TraceError("window must be positive.")
        buckets: dict[int, list[Fetched]] = {}
        for f in self.files:
            buckets.setdefault(math.floor(f.at / window), []).append(f)
        return [
            (k * window, sum(1 for f in fs if f.cache == "Hit") / len(fs))
            for k, fs in sorted(buckets.items())
        ]

    def summary(self) -> str:
        """One line for a learner."""
        verdicts = ", ".join(f"{n} {v}" for v, n in self.verdicts().items())
        return (
            f"{len(self.results)} visits, {len(self.files)} files ({verdicts}); "
            f"{self.hit_ratio():.1%} served from the edge cache"
        )

    def __repr__(self) -> str:
        return f"<BrowseReport {self.summary()}>"


def browse(
    plan: Iterable[Visit],
    base_url: str,
    fetch: Fetch,
    clock: Clock,
    *,
    origin: float | None = None,
    report: BrowseReport | None = None,
) -> BrowseReport:
    """Play ``plan`` on ``clock`` like browsers would: each page, then the files it loads.

    The clock moves to each visit's time (events due on the way run: TTLs expire,
    invalidations land, replicas arrive); a page and its files are fetched at the same instant.

    Args:
        plan: The visits (any order; played in time order).
        base_url: Where the site is, e.g. ``https://d111.cloudfront.net``.
        fetch: ``fetch(url, viewer_city)`` returns an answer (``labkit.edge.fetch`` fits with
            ``lambda url, city: edge.fetch(url, viewer_at=city)``).
        clock: The lab clock.
        origin: The instant (epoch seconds) that visit times count from; the clock's time now
            by default.
        report: A report to add to (to play traffic in stretches around a deploy).

    Returns:
        The report (``report`` itself when given).
    """
    out = report if report is not None else BrowseReport()
    zero = clock.timestamp if origin is None else origin
    base = base_url.rstrip("/")
    for visit in sorted(plan, key=lambda v: v.at):
        when = zero + visit.at
        if when > clock.timestamp:
            clock.advance_to(when)
        page = _fetch_one(fetch, base, visit, visit.page)
        files = [page]
        if page.status == 200 and page.body is not None:
            for path in linked_paths(page.body):
                files.append(_fetch_one(fetch, base, visit, path))
        out.results.append(VisitResult(visit, tuple(f.fetched for f in files)))
    return out


@dataclass(frozen=True)
class _Got:
    fetched: Fetched
    status: int
    body: bytes | None


def _fetch_one(fetch: Fetch, base: str, visit: Visit, path: str) -> _Got:
    try:
        answer: Any = fetch(base + path, visit.viewer)
    except LabkitError:
        # Nothing answered (an unknown host, a failed endpoint): a browser's connection error.
        empty = Fetched(visit.at, visit.viewer, path, 0, "", None, 0.0, "")
        return _Got(empty, 0, None)
    body = bytes(answer.body)
    fetched = Fetched(
        visit.at,
        visit.viewer,
        path,
        int(answer.status),
        str(answer.cache),
        build_of(body) if answer.status == 200 else None,
        float(answer.latency_ms),
        str(answer.served_by),
    )
    return _Got(fetched, int(answer.status), body)


__all__ = [
    "PAGES",
    "PAGE_ASSETS",
    "SHOP_AUDIENCE",
    "BrowseReport",
    "Fetched",
    "SiteFile",
    "TraceError",
    "Visit",
    "VisitResult",
    "browse",
    "build_of",
    "content_type",
    "linked_paths",
    "site_build",
    "visits",
]
