"""A MediaWiki-compatible Action API on loopback, for tests of the Ask Wikipedia flow.

Real uvicorn serves a small Starlette app in a thread, once per session (``fake_wiki`` empties it for each
test). Each language ("culture") has its own base path, because ``fr.`` hosts cannot exist on loopback:
``wiki.base("fr")`` is ``http://127.0.0.1:PORT/fr`` and its API is ``GET /fr/w/api.php``.

What it implements, as MediaWiki does:

- ``action=query&list=search&srsearch=Q&srlimit=N``: pages ranked by term overlap with ``Q``
  (case- and accent-insensitive; title terms count double, redirect titles count as title terms).
- ``action=query&prop=extracts&explaintext=1&titles=A|B``: each page's plain text. Titles are normalised
  (``_`` → space, first letter upper-cased) and reported in ``query.normalized``; with ``redirects=1``
  redirects are followed and reported in ``query.redirects``; unknown titles come back flagged
  ``missing``.
- ``formatversion=2`` (``query.pages`` is a list, booleans are ``true``) and the default 1 (``query.pages``
  is a dict keyed by page id, missing pages under negative ids, booleans are ``""``).
- Anything else answers HTTP 200 with ``{"error": {"code", "info"}}``, like the real API.

The tests write their own pages (``wiki.add_page``), can make the next requests fail
(``wiki.fail_next(2, status=503)``) and read what was asked (``wiki.requests``).
"""

from __future__ import annotations

import contextlib
import html
import itertools
import re
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from loopback import serve_in_thread

_WORD = re.compile(r"\w+")


def fold(text: str) -> str:
    """Lower-case ``text`` and strip its accents ("Élisabeth" → "elisabeth")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def normalise_title(title: str) -> str:
    """MediaWiki's title normalisation: underscores become spaces, spaces collapse, first letter upper."""
    title = " ".join(title.replace("_", " ").split())
    return title[:1].upper() + title[1:]


@dataclass
class Page:
    """One article of the fake wiki."""

    pageid: int
    title: str
    text: str
    redirects_from: list[str] = field(default_factory=list)


@dataclass
class WikiRequest:
    """One request the server received.

    Attributes:
        culture: the language base path (``fr``, ``en``...).
        path: the URL path.
        params: the query parameters (last value wins for repeated names).
        user_agent: the ``User-Agent`` header, or "".
        status: the HTTP status the server answered.
    """

    culture: str
    path: str
    params: dict[str, str]
    user_agent: str
    status: int = 200

    @property
    def kind(self) -> str:
        """``search``, ``extracts`` or ``other``: what the request asked for."""
        if self.params.get("list") == "search":
            return "search"
        if self.params.get("prop") == "extracts":
            return "extracts"
        return "other"


class FakeWiki:
    """The fixture's state: pages per culture, recorded requests, injected failures."""

    def __init__(self) -> None:
        self.url = ""  # set once the server runs
        self.requests: list[WikiRequest] = []
        self._pages: dict[str, dict[str, Page]] = {}  # culture -> title -> page
        self._redirects: dict[str, dict[str, str]] = {}  # culture -> redirect title -> target title
        self._failures: list[tuple[int, str | None]] = []
        self._ids = itertools.count(1001)
        self._lock = threading.Lock()
        self.app = Starlette(routes=[Route("/{culture}/w/api.php", self._api)])

    def base(self, culture: str = "fr") -> str:
        """The ``wiki_url`` to give the flow for ``culture``: ``http://127.0.0.1:PORT/<culture>``."""
        return f"{self.url}/{culture}"

    def add_page(self, title: str, text: str, lang: str = "fr",
                 redirects_from: list[str] | None = None) -> Page:
        """Add (or replace) an article, with optional redirect titles that lead to it."""
        title = normalise_title(title)
        with self._lock:
            page = Page(next(self._ids), title, text, [normalise_title(r) for r in redirects_from or []])
            self._pages.setdefault(lang, {})[title] = page
            for source in page.redirects_from:
                self._redirects.setdefault(lang, {})[source] = title
            return page

    def reset(self) -> None:
        """Forget every page, request and pending failure."""
        with self._lock:
            self.requests.clear()
            self._pages.clear()
            self._redirects.clear()
            self._failures.clear()

    def fail_next(self, count: int, status: int = 503, retry_after: str | None = None) -> None:
        """Answer the next ``count`` requests with ``status`` (and a ``Retry-After`` header when given)."""
        with self._lock:
            self._failures.extend([(status, retry_after)] * count)

    def requests_of(self, kind: str) -> list[WikiRequest]:
        """The recorded requests of one kind (``search``, ``extracts``, ``other``)."""
        with self._lock:
            return [r for r in self.requests if r.kind == kind]

    async def _api(self, request: Request) -> JSONResponse:
        culture = request.path_params["culture"]
        params = dict(request.query_params)
        record = WikiRequest(culture, request.url.path, params, request.headers.get("user-agent", ""))
        with self._lock:
            self.requests.append(record)
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None:
            record.status, retry_after = failure
            headers = {"Retry-After": retry_after} if retry_after is not None else {}
            return JSONResponse({"error": {"code": "unavailable", "info": "injected failure"}},
                                status_code=record.status, headers=headers)
        with self._lock:
            body = self._answer(culture, params)
        return JSONResponse(body)

    def _answer(self, culture: str, params: dict[str, str]) -> dict:
        if params.get("format") != "json":
            return _error("badformat", "this fake serves format=json only")
        if params.get("action") != "query":
            return _error("badvalue", f"unrecognised value for parameter 'action': {params.get('action')}")
        v2 = params.get("formatversion") == "2"
        if params.get("list") == "search":
            return self._search(culture, params, v2)
        if params.get("prop") == "extracts":
            return self._extracts(culture, params, v2)
        return _error("badvalue", "this fake serves list=search and prop=extracts only")

    def _search(self, culture: str, params: dict[str, str], v2: bool) -> dict:
        terms = {t for t in _WORD.findall(fold(params.get("srsearch", ""))) if len(t) > 1}
        if not terms:
            return _error("nosrsearch", "the srsearch parameter must be set")
        limit = int(params.get("srlimit", "10"))
        scored = []
        for page in self._pages.get(culture, {}).values():
            title_terms = set(_WORD.findall(fold(" ".join([page.title, *page.redirects_from]))))
            text_terms = set(_WORD.findall(fold(page.text)))
            score = 2 * len(terms & title_terms) + len(terms & text_terms)
            if score:
                scored.append((-score, page.title, page))
        hits = [
            {"ns": 0, "title": p.title, "pageid": p.pageid, "size": len(p.text.encode()),
             "wordcount": len(p.text.split()), "snippet": html.escape(p.text[:80])}
            for _, _, p in sorted(scored, key=lambda s: (s[0], s[1]))[:limit]
        ]
        return {"batchcomplete": True if v2 else "",
                "query": {"searchinfo": {"totalhits": len(scored)}, "search": hits}}

    def _extracts(self, culture: str, params: dict[str, str], v2: bool) -> dict:
        if params.get("explaintext") is None:
            return _error("badvalue", "this fake serves plain-text extracts only (explaintext=1)")
        pages = self._pages.get(culture, {})
        redirects = self._redirects.get(culture, {}) if params.get("redirects") is not None else {}
        query: dict = {}
        found: list[dict] = []
        for raw in [t for t in params.get("titles", "").split("|") if t.strip()]:
            title = normalise_title(raw)
            if title != raw:
                query.setdefault("normalized", []).append({"from": raw, "to": title})
            if title in redirects:
                query.setdefault("redirects", []).append({"from": title, "to": redirects[title]})
                title = redirects[title]
            page = pages.get(title)
            if page is None:
                found.append({"ns": 0, "title": title, "missing": True if v2 else ""})
            elif all(p.get("pageid") != page.pageid for p in found):
                found.append({"pageid": page.pageid, "ns": 0, "title": page.title, "extract": page.text})
        if v2:
            query["pages"] = found
        else:
            missing_ids = itertools.count(-1, -1)
            query["pages"] = {str(p["pageid"] if "pageid" in p else next(missing_ids)): p for p in found}
        return {"batchcomplete": True if v2 else "", "query": query}


def _error(code: str, info: str) -> dict:
    return {"error": {"code": code, "info": info}}


@contextlib.contextmanager
def serve(wiki: FakeWiki | None = None) -> Iterator[FakeWiki]:
    """Serve a fake wiki on a free loopback port (real uvicorn in a thread) until the block ends."""
    wiki = wiki or FakeWiki()
    with serve_in_thread(wiki.app, lifespan="off", name="fake-wiki") as url:
        wiki.url = url
        yield wiki


@pytest.fixture(scope="session")
def fake_wiki_server() -> Iterator[FakeWiki]:
    """The fake MediaWiki, started once per test session."""
    with serve() as wiki:
        yield wiki


@pytest.fixture
def fake_wiki(fake_wiki_server: FakeWiki, tmp_path: Path,
              monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeWiki]:
    """The running fake MediaWiki, emptied for this test (see the module docstring).

    Its URL is shared by the session, so the Ask Wikipedia tools' URL-keyed cache is pointed at a folder of
    this test (``HEADRACE_WIKI_CACHE``): one test's answers never leak into another's.
    """
    monkeypatch.setenv("HEADRACE_WIKI_CACHE", str(tmp_path / "wiki-cache"))
    fake_wiki_server.reset()
    yield fake_wiki_server
    fake_wiki_server.reset()
