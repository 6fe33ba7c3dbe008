"""Python tools of the Ask Wikipedia flow: search, page extracts, first sentences, context blocks.

Wikipedia is read through the MediaWiki Action API only (``{wiki_url}/w/api.php``), following Wikimedia's
User-Agent policy and API etiquette:

- a descriptive ``User-Agent`` (``USER_AGENT``) instead of a browser's;
- requests one after another, never in parallel (what the etiquette asks of unregistered clients);
- timeouts, and up to ``ATTEMPTS`` tries with exponential backoff on 429, 5xx and connection errors,
  honouring ``Retry-After`` (capped at ``MAX_RETRY_AFTER`` seconds);
- a cache of successful answers on disk, keyed by the request URL. Folder: ``$HEADRACE_WIKI_CACHE``, else
  ``$HEADRACE_HOME/cache/wiki``, else ``~/.cache/headrace/wiki``. Entries live
  ``$HEADRACE_WIKI_CACHE_TTL`` seconds (default one day); ``HEADRACE_WIKI_CACHE_TTL=0`` turns the cache off.

Article URLs are canonical: ``{wiki_url}/wiki/{Title}`` from the title the API reports after following
redirects, spaces as underscores, percent-encoded as MediaWiki does. Sentences are split by ``pysbd`` in the
flow's language (English rules for languages it does not know).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx
import pysbd
from pysbd.languages import LANGUAGE_CODES

from headrace import __version__
from headrace.flows import tool

logger = logging.getLogger(__name__)

USER_AGENT = f"headrace-ask-wikipedia/{__version__} (+https://github.com/headrace; contact via repo)"
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
ATTEMPTS = 4
BACKOFF_SECONDS = 0.5  # the first wait; doubled after each failed try
MAX_RETRY_AFTER = 30.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
DEFAULT_CACHE_TTL = 86_400
MAX_RESULTS = 50  # srlimit above this is refused by MediaWiki for ordinary clients
MAX_QUERY_CHARS = 300  # CirrusSearch refuses longer queries

# A language code ("fr", "pt-br", "zh-yue"), so a culture can never smuggle a host or path into the URL.
_CULTURE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")
_HEADING = re.compile(r"^=+\s*.*?\s*=+$")  # "== Section ==" lines of plain-text extracts
# Labels a model tends to put before the query ("Output: ...", "Search query: ...").
_QUERY_LABEL = re.compile(r"^(search\s+query|query|output|requête|recherche)\s*:\s*", re.IGNORECASE)
_MEDIAWIKI_SAFE = ";@$!*(),/:~"  # what MediaWiki's wfUrlencode leaves unescaped in titles


class WikipediaError(RuntimeError):
    """The wiki could not be read (after retries), or it refused the request."""


# --- URLs and titles ----------------------------------------------------------------------------------------

def resolve_wiki_url(culture: str, wiki_url: str = "") -> str:
    """The wiki's base URL: ``wiki_url`` if given, else ``https://{culture}.wikipedia.org``.

    Raises:
        ValueError: ``culture`` is not a language code, or ``wiki_url`` is not an http(s) URL.
    """
    if wiki_url:
        parts = urlsplit(wiki_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"wiki_url {wiki_url!r} is not an http(s) URL such as https://fr.wikipedia.org")
        return wiki_url.rstrip("/")
    if not _CULTURE.match(culture or ""):
        raise ValueError(f"culture {culture!r} is not a Wikipedia language code such as 'en', 'fr' or "
                         "'pt-br'")
    return f"https://{culture}.wikipedia.org"


def article_url(wiki_url: str, title: str) -> str:
    """The canonical URL of an article: ``{wiki_url}/wiki/{Title}`` encoded as MediaWiki does.

    Example:
        >>> article_url("https://fr.wikipedia.org", "Premier ministre français")
        'https://fr.wikipedia.org/wiki/Premier_ministre_fran%C3%A7ais'
    """
    return f"{wiki_url}/wiki/{quote(title.replace(' ', '_'), safe=_MEDIAWIKI_SAFE)}"


def title_from_url(wiki_url: str, url: str) -> str:
    """The article title in ``url`` (the inverse of ``article_url``).

    Raises:
        ValueError: ``url`` is not an article URL of this wiki.
    """
    prefix = f"{wiki_url}/wiki/"
    if not url.startswith(prefix) or len(url) == len(prefix):
        raise ValueError(f"{url!r} is not an article URL of {wiki_url} (expected {prefix}<Title>)")
    return unquote(url[len(prefix):].split("#", 1)[0]).replace("_", " ")


def clean_query(text: str) -> str:
    """A search query from a model's answer: its first non-empty line, without labels or quotes."""
    line = next((ln.strip() for ln in (text or "").splitlines() if ln.strip()), "")
    line = _QUERY_LABEL.sub("", line).strip().strip("\"'«»“”`").strip()
    return " ".join(line.split())[:MAX_QUERY_CHARS]


# --- HTTP: retries, cache -----------------------------------------------------------------------------------

def client() -> httpx.Client:
    """An HTTP client with the flow's User-Agent and timeouts (close it, or use it in a ``with``)."""
    return httpx.Client(timeout=TIMEOUT, headers={"User-Agent": USER_AGENT}, follow_redirects=True)


def api_get(http: httpx.Client, wiki_url: str, params: dict[str, str]) -> dict[str, Any]:
    """One Action API query (``action=query&format=json&formatversion=2`` plus ``params``), cached.

    Raises:
        WikipediaError: the wiki stayed unreachable or failing after retries, or it answered an API error.
    """
    query = {"action": "query", "format": "json", "formatversion": "2", "utf8": "1", **params}
    url = str(httpx.URL(f"{wiki_url}/w/api.php", params=query))
    body = _cache_read(url)
    if body is None:
        body = _get_with_retries(http, url)
        if "error" in body:
            error = body["error"]
            raise WikipediaError(f"{wiki_url} refused the query {params}: "
                                 f"{error.get('code', '?')}: {error.get('info', '')}")
        _cache_write(url, body)
    return body


def _get_with_retries(http: httpx.Client, url: str) -> dict[str, Any]:
    wait = BACKOFF_SECONDS
    for attempt in range(1, ATTEMPTS + 1):
        retry_after = 0.0
        try:
            response = http.get(url)
        except httpx.TransportError as exc:  # refused connections, timeouts, broken streams
            problem = f"{type(exc).__name__}: {exc}"
        else:
            if response.status_code == 200:
                try:
                    return response.json()
                except ValueError as exc:
                    raise WikipediaError(f"GET {url} did not answer JSON: {response.text[:100]!r}") from exc
            problem = f"HTTP {response.status_code}"
            if response.status_code not in RETRY_STATUSES:
                raise WikipediaError(f"GET {url} answered {problem}: {response.text[:200]!r}")
            retry_after = _retry_after(response)
        if attempt == ATTEMPTS:
            raise WikipediaError(f"GET {url} failed {ATTEMPTS} times, last with {problem}")
        delay = max(wait, retry_after)
        logger.warning("GET %s: %s; retrying in %.1fs (try %d of %d)", url, problem, delay, attempt + 1,
                       ATTEMPTS)
        time.sleep(delay)
        wait *= 2
    raise AssertionError("unreachable")


def _retry_after(response: httpx.Response) -> float:
    """The server's ``Retry-After`` in seconds (capped), or 0 when absent or given as a date."""
    try:
        return min(max(float(response.headers.get("Retry-After", "0")), 0.0), MAX_RETRY_AFTER)
    except ValueError:
        return 0.0


def cache_folder() -> Path | None:
    """Where answers are cached, or None when ``HEADRACE_WIKI_CACHE_TTL=0`` turns the cache off."""
    if _cache_ttl() <= 0:
        return None
    if os.environ.get("HEADRACE_WIKI_CACHE"):
        return Path(os.environ["HEADRACE_WIKI_CACHE"])
    if os.environ.get("HEADRACE_HOME"):
        return Path(os.environ["HEADRACE_HOME"]) / "cache" / "wiki"
    return Path.home() / ".cache" / "headrace" / "wiki"


def _cache_ttl() -> float:
    try:
        return float(os.environ.get("HEADRACE_WIKI_CACHE_TTL", DEFAULT_CACHE_TTL))
    except ValueError:
        return DEFAULT_CACHE_TTL


def _cache_path(url: str) -> Path | None:
    folder = cache_folder()
    return folder / f"{hashlib.sha256(url.encode()).hexdigest()}.json" if folder else None


def _cache_read(url: str) -> dict[str, Any] | None:
    path = _cache_path(url)
    if path is None or not path.is_file():
        return None
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # a damaged entry is just a miss; the next write replaces it
    if entry.get("url") != url or time.time() - entry.get("stored_at", 0) > _cache_ttl():
        return None
    return entry["body"]


def _cache_write(url: str, body: dict[str, Any]) -> None:
    path = _cache_path(url)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps({"url": url, "stored_at": time.time(), "body": body}), encoding="utf-8")
        os.replace(partial, path)  # readers never see half an entry
    except OSError as exc:
        logger.warning("could not write the wiki cache in %s: %s", path.parent, exc)


# --- Sentences ----------------------------------------------------------------------------------------------

@lru_cache(maxsize=32)
def _segmenter(language: str) -> pysbd.Segmenter:
    return pysbd.Segmenter(language=language, clean=False)


def sentence_language(culture: str) -> str:
    """The pysbd language for a culture ("pt-br" → "pt" if known), English when pysbd lacks it."""
    primary = (culture or "en").split("-", 1)[0].lower()
    return primary if primary in LANGUAGE_CODES else "en"


def first_sentences(text: str, count: int, culture: str) -> list[str]:
    """The first ``count`` sentences of a plain-text extract, section headings skipped.

    Paragraphs are split one at a time, so a long article costs only what is kept.
    """
    segmenter = _segmenter(sentence_language(culture))
    sentences: list[str] = []
    for paragraph in text.splitlines():
        paragraph = paragraph.strip()
        if not paragraph or _HEADING.match(paragraph):
            continue
        for sentence in segmenter.segment(paragraph):
            if sentence.strip():
                sentences.append(sentence.strip())
                if len(sentences) >= count:
                    return sentences
    return sentences


# --- The flow's tools ---------------------------------------------------------------------------------------

@tool
def get_wiki_url(entity: str, count: int = 2, culture: str = "en", wiki_url: str = "") -> list[str]:
    """Search the wiki for ``entity`` and return the canonical URLs of the best ``count`` articles.

    Args:
        entity: the search query (a model's answer is cleaned: first line, no label or quotes).
        count: how many articles to keep (1 to 50).
        culture: the Wikipedia language, used when ``wiki_url`` is empty.
        wiki_url: the wiki's base URL; empty means ``https://{culture}.wikipedia.org``.

    Returns:
        Article URLs, best match first; empty when the search finds nothing.
    """
    base = resolve_wiki_url(culture, wiki_url)
    query = clean_query(entity)
    if not query or count < 1:
        return []
    with client() as http:
        limit = str(min(count, MAX_RESULTS))
        body = api_get(http, base, {"list": "search", "srsearch": query, "srlimit": limit, "srprop": ""})
    urls: list[str] = []
    for hit in body.get("query", {}).get("search", []):
        url = article_url(base, hit["title"])
        if url not in urls:
            urls.append(url)
    return urls[:count]


@tool
def search_result_from_url(url_list: list[str], count: int = 10, culture: str = "en",
                           wiki_url: str = "") -> list[dict[str, str]]:
    """Read each article's plain text and keep its first ``count`` sentences.

    Redirects are followed, so two URLs of one article give one result, under its canonical URL.
    Missing or empty articles are left out.

    Args:
        url_list: article URLs of this wiki (``{wiki_url}/wiki/<Title>``).
        count: sentences to keep per article.
        culture: the language of the sentence rules (and of the wiki when ``wiki_url`` is empty).
        wiki_url: the wiki's base URL; empty means ``https://{culture}.wikipedia.org``.

    Returns:
        ``[{"title", "url", "text"}]`` in the order of ``url_list``; ``text`` is the sentences joined by
        spaces.
    """
    base = resolve_wiki_url(culture, wiki_url)
    results: list[dict[str, str]] = []
    seen: set[str] = set()
    with client() as http:
        for url in url_list:
            title = title_from_url(base, url)
            # One title per request: MediaWiki returns whole-page extracts for a single page only.
            params = {"prop": "extracts", "explaintext": "1", "redirects": "1", "titles": title}
            body = api_get(http, base, params)
            pages = body.get("query", {}).get("pages", [])
            for page in pages.values() if isinstance(pages, dict) else pages:
                if "missing" in page or not page.get("extract") or page["title"] in seen:
                    continue
                seen.add(page["title"])
                sentences = first_sentences(page["extract"], count, culture)
                if sentences:
                    results.append({"title": page["title"], "url": article_url(base, page["title"]),
                                    "text": " ".join(sentences)})
    return results


@tool
def process_search_result(search_result: list[dict[str, str]], culture: str = "en",
                          wiki_url: str = "") -> dict[str, Any]:
    """Turn the extracts into context blocks for the answering prompt.

    Returns:
        ``{"found": bool, "contexts": [{"source", "title", "content"}], "sources": [url, ...], "wiki_url"}``;
        ``found`` is False when there is no text to answer from.
    """
    contexts = [{"source": r["url"], "title": r["title"], "content": r["text"]}
                for r in search_result if r.get("text")]
    return {"found": bool(contexts), "contexts": contexts, "sources": [c["source"] for c in contexts],
            "wiki_url": resolve_wiki_url(culture, wiki_url)}


@tool
def no_sources(query: str, culture: str = "en", wiki_url: str = "") -> str:
    """The answer when the wiki had nothing: says where it looked and for what (no model is called)."""
    return (f'No sources found on {resolve_wiki_url(culture, wiki_url)} for "{clean_query(query)}". '
            "Try rephrasing the question, or another culture.")
