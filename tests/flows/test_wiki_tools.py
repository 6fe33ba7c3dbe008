"""The Ask Wikipedia tools (examples/flows/ask-wikipedia/wiki.py) against the fake MediaWiki on loopback."""

from __future__ import annotations

import importlib.util
import json
import socket
import sys
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from fake_wiki import FakeWiki

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "flows" / "ask-wikipedia"

PM_TEXT = (
    "Le Premier ministre français est le chef du gouvernement de la France. "
    "Il est nommé par le président de la République.\n"
    "== Histoire ==\n"
    "Édith Cresson fut la première femme nommée Première ministre, en 1991. "
    "Élisabeth Borne fut la deuxième, en 2022."
)
CRESSON_TEXT = "Édith Cresson est une femme politique française. Elle dirige le gouvernement de 1991 à 1992."
BORNE_TEXT = "Élisabeth Borne est une femme politique française. Elle devient Première ministre en 2022."


@pytest.fixture(scope="module")
def wiki() -> ModuleType:
    """The example's tool module, loaded from its file as the flow engine would."""
    spec = importlib.util.spec_from_file_location("ask_wikipedia_tools", EXAMPLE / "wiki.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


@pytest.fixture(autouse=True)
def _fast_and_isolated(wiki: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private cache folder per test (as ``fake_wiki`` sets it), and short retry waits."""
    cache = tmp_path / "wiki-cache"
    monkeypatch.setenv("HEADRACE_WIKI_CACHE", str(cache))
    monkeypatch.setattr(wiki, "BACKOFF_SECONDS", 0.01)
    return cache


@pytest.fixture
def fr_wiki(fake_wiki: FakeWiki) -> FakeWiki:
    fake_wiki.add_page("Premier ministre français", PM_TEXT, redirects_from=["Premier ministre de France"])
    fake_wiki.add_page("Édith Cresson", CRESSON_TEXT)
    fake_wiki.add_page("Élisabeth Borne", BORNE_TEXT)
    fake_wiki.add_page("Tour Eiffel", "La tour Eiffel est une tour de fer puddlé de Paris.")
    return fake_wiki


def test_search_returns_canonical_urls_best_first_through_the_action_api(wiki, fr_wiki):
    base = fr_wiki.base("fr")
    urls = wiki.get_wiki_url("Élisabeth Borne Première ministre", count=2, culture="fr", wiki_url=base)
    assert urls == [f"{base}/wiki/%C3%89lisabeth_Borne", f"{base}/wiki/Premier_ministre_fran%C3%A7ais"]
    [request] = fr_wiki.requests_of("search")
    assert request.path == "/fr/w/api.php"
    assert request.params["action"] == "query"
    assert request.params["format"] == "json"
    assert request.params["srsearch"] == "Élisabeth Borne Première ministre"
    assert request.params["srlimit"] == "2"


def test_search_cleans_a_models_answer_and_finds_nothing_without_error(wiki, fr_wiki):
    base = fr_wiki.base("fr")
    assert wiki.get_wiki_url('Output: "Tour Eiffel"\nThis query names the tower.', 5, "fr", base) == [
        f"{base}/wiki/Tour_Eiffel"]
    assert fr_wiki.requests_of("search")[-1].params["srsearch"] == "Tour Eiffel"
    assert wiki.get_wiki_url("zeppelin", count=3, culture="fr", wiki_url=base) == []
    assert wiki.get_wiki_url("  \n ", count=3, culture="fr", wiki_url=base) == []
    assert len(fr_wiki.requests_of("search")) == 2  # the empty query never reached the wiki


def test_extracts_keep_the_first_sentences_and_skip_headings(wiki, fr_wiki):
    base = fr_wiki.base("fr")
    pages = wiki.search_result_from_url([f"{base}/wiki/Premier_ministre_fran%C3%A7ais"], count=3,
                                        culture="fr", wiki_url=base)
    assert pages == [{
        "title": "Premier ministre français",
        "url": f"{base}/wiki/Premier_ministre_fran%C3%A7ais",
        "text": "Le Premier ministre français est le chef du gouvernement de la France. "
                "Il est nommé par le président de la République. "
                "Édith Cresson fut la première femme nommée Première ministre, en 1991.",
    }]
    [request] = fr_wiki.requests_of("extracts")
    assert request.params["explaintext"] == "1"
    assert request.params["titles"] == "Premier ministre français"
    assert request.params["format"] == "json"


def test_two_titles_redirecting_to_one_article_give_one_result_under_its_canonical_url(wiki, fr_wiki):
    base = fr_wiki.base("fr")
    pages = wiki.search_result_from_url(
        [f"{base}/wiki/Premier_ministre_de_France", f"{base}/wiki/Premier_ministre_fran%C3%A7ais",
         f"{base}/wiki/%C3%89dith_Cresson"],
        count=1, culture="fr", wiki_url=base)
    assert [p["url"] for p in pages] == [f"{base}/wiki/Premier_ministre_fran%C3%A7ais",
                                         f"{base}/wiki/%C3%89dith_Cresson"]


def test_missing_articles_are_left_out(wiki, fr_wiki):
    base = fr_wiki.base("fr")
    assert wiki.search_result_from_url([f"{base}/wiki/Nulle_part"], 5, "fr", base) == []


def test_urls_of_another_wiki_are_refused_with_the_expected_form(wiki, fr_wiki):
    with pytest.raises(ValueError, match=r"not an article URL of .*/fr \(expected .*/fr/wiki/<Title>\)"):
        wiki.search_result_from_url(["https://example.org/wiki/X"], 5, "fr", fr_wiki.base("fr"))


def test_canonical_urls_are_encoded_as_mediawiki_does(wiki):
    base = "https://fr.wikipedia.org"
    assert wiki.article_url(base, "Premier ministre français") == (
        f"{base}/wiki/Premier_ministre_fran%C3%A7ais")
    assert wiki.article_url(base, "Élisabeth Borne") == f"{base}/wiki/%C3%89lisabeth_Borne"
    assert wiki.article_url(base, "Jeanne d'Arc") == f"{base}/wiki/Jeanne_d%27Arc"
    assert wiki.article_url(base, "Gouvernement (France)") == f"{base}/wiki/Gouvernement_(France)"
    assert wiki.article_url(base, "AC/DC: Live & Loud?") == f"{base}/wiki/AC/DC:_Live_%26_Loud%3F"
    for title in ("Élisabeth Borne", "Jeanne d'Arc", "AC/DC: Live & Loud?"):
        assert wiki.title_from_url(base, wiki.article_url(base, title)) == title


def test_the_wiki_url_defaults_to_the_cultures_wikipedia_and_a_culture_cannot_change_the_host(wiki):
    assert wiki.resolve_wiki_url("fr") == "https://fr.wikipedia.org"
    assert wiki.resolve_wiki_url("pt-br", "") == "https://pt-br.wikipedia.org"
    assert wiki.resolve_wiki_url("fr", "http://127.0.0.1:8080/fr/") == "http://127.0.0.1:8080/fr"
    for culture in ("evil.com/x", "fr.evil.com#", "", "FR@x"):
        with pytest.raises(ValueError, match="not a Wikipedia language code"):
            wiki.resolve_wiki_url(culture)
    with pytest.raises(ValueError, match="not an http"):
        wiki.resolve_wiki_url("fr", "file:///etc/passwd")


def test_french_sentences_keep_abbreviations_whole(wiki):
    text = "M. Dupont arrive à Matignon le 15 mai 1991. Il y rencontre Mme Cresson. Ils parlent longtemps."
    assert wiki.first_sentences(text, 2, "fr") == ["M. Dupont arrive à Matignon le 15 mai 1991.",
                                                   "Il y rencontre Mme Cresson."]
    assert wiki.first_sentences("The U.S. is large. Mr. Smith agrees.", 5, "en") == [
        "The U.S. is large.", "Mr. Smith agrees."]


def test_unknown_languages_fall_back_to_english_rules(wiki):
    assert wiki.sentence_language("fr") == "fr"
    assert wiki.sentence_language("zh-yue") == "zh"
    assert wiki.sentence_language("br") == "en"
    assert wiki.first_sentences("Mr. Smith came. He left.", 1, "br") == ["Mr. Smith came."]


@pytest.mark.parametrize("status, retry_after", [(503, None), (429, "0"), (502, None)])
def test_failures_are_retried_with_backoff(wiki, fr_wiki, status, retry_after):
    fr_wiki.fail_next(2, status=status, retry_after=retry_after)
    base = fr_wiki.base("fr")
    assert wiki.get_wiki_url("Tour Eiffel", 1, "fr", base) == [f"{base}/wiki/Tour_Eiffel"]
    assert [r.status for r in fr_wiki.requests] == [status, status, 200]


def test_a_wiki_that_keeps_failing_gives_a_clear_error(wiki, fr_wiki):
    fr_wiki.fail_next(10, status=503)
    expected = r"GET .*/fr/w/api\.php\?.* failed 4 times, last with HTTP 503"
    with pytest.raises(wiki.WikipediaError, match=expected):
        wiki.get_wiki_url("Tour Eiffel", 1, "fr", fr_wiki.base("fr"))
    assert len(fr_wiki.requests) == wiki.ATTEMPTS


def test_client_errors_are_not_retried(wiki, fr_wiki):
    fr_wiki.fail_next(1, status=403)
    with pytest.raises(wiki.WikipediaError, match="answered HTTP 403"):
        wiki.get_wiki_url("Tour Eiffel", 1, "fr", fr_wiki.base("fr"))
    assert len(fr_wiki.requests) == 1


def test_an_unreachable_wiki_is_retried_then_reported(wiki):
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(wiki.WikipediaError, match="failed 4 times, last with ConnectError"):
        wiki.get_wiki_url("Tour Eiffel", 1, "fr", f"http://127.0.0.1:{port}/fr")


def test_an_api_error_is_reported_with_its_code(wiki, fr_wiki):
    with wiki.client() as http, pytest.raises(wiki.WikipediaError, match="refused the query .*badvalue"):
        wiki.api_get(http, fr_wiki.base("fr"), {"list": "allpages"})


def test_every_request_sends_the_descriptive_user_agent(wiki, fr_wiki):
    base = fr_wiki.base("fr")
    wiki.search_result_from_url(wiki.get_wiki_url("Cresson", 2, "fr", base), 2, "fr", base)
    assert {r.kind for r in fr_wiki.requests} == {"search", "extracts"}
    for request in fr_wiki.requests:
        assert request.user_agent.startswith("headrace-ask-wikipedia/")
        assert "(+https://github.com/headrace; contact via repo)" in request.user_agent


def test_the_cache_answers_a_repeated_request(wiki, fr_wiki, _fast_and_isolated):
    base = fr_wiki.base("fr")
    first = wiki.get_wiki_url("Tour Eiffel", 1, "fr", base)
    assert wiki.get_wiki_url("Tour Eiffel", 1, "fr", base) == first
    assert len(fr_wiki.requests) == 1
    [entry] = _fast_and_isolated.glob("*.json")
    assert json.loads(entry.read_text())["url"].startswith(f"{base}/w/api.php?")


def test_cache_entries_expire_and_ttl_zero_turns_the_cache_off(wiki, fr_wiki, _fast_and_isolated,
                                                                monkeypatch):
    base = fr_wiki.base("fr")
    wiki.get_wiki_url("Tour Eiffel", 1, "fr", base)
    [entry] = _fast_and_isolated.glob("*.json")
    stored = json.loads(entry.read_text())
    stored["stored_at"] -= 7200
    entry.write_text(json.dumps(stored))
    monkeypatch.setenv("HEADRACE_WIKI_CACHE_TTL", "3600")
    wiki.get_wiki_url("Tour Eiffel", 1, "fr", base)
    assert len(fr_wiki.requests) == 2  # the entry was two hours old
    monkeypatch.setenv("HEADRACE_WIKI_CACHE_TTL", "0")
    wiki.get_wiki_url("Tour Eiffel", 1, "fr", base)
    wiki.get_wiki_url("Tour Eiffel", 1, "fr", base)
    assert len(fr_wiki.requests) == 4
    assert wiki.cache_folder() is None


def test_the_cache_folder_follows_the_headrace_home(wiki, tmp_path, monkeypatch):
    monkeypatch.delenv("HEADRACE_WIKI_CACHE")
    monkeypatch.setenv("HEADRACE_HOME", str(tmp_path / "home"))
    assert wiki.cache_folder() == tmp_path / "home" / "cache" / "wiki"


def test_contexts_sources_and_the_no_sources_answer(wiki, fr_wiki):
    base = fr_wiki.base("fr")
    pages = [{"title": "Édith Cresson", "url": f"{base}/wiki/%C3%89dith_Cresson", "text": "Elle dirige."}]
    result = wiki.process_search_result(pages, "fr", base)
    assert result == {"found": True, "sources": [f"{base}/wiki/%C3%89dith_Cresson"], "wiki_url": base,
                      "contexts": [{"source": f"{base}/wiki/%C3%89dith_Cresson", "title": "Édith Cresson",
                                    "content": "Elle dirige."}]}
    empty = wiki.process_search_result([], "fr", "")
    assert empty == {"found": False, "contexts": [], "sources": [], "wiki_url": "https://fr.wikipedia.org"}
    assert wiki.no_sources('"zeppelin rouge"', "fr", "") == (
        'No sources found on https://fr.wikipedia.org for "zeppelin rouge". '
        "Try rephrasing the question, or another culture.")


def test_the_fake_wiki_speaks_both_format_versions(fr_wiki):
    base = fr_wiki.base("fr")
    common = {"action": "query", "format": "json", "prop": "extracts", "explaintext": "1", "redirects": "1",
              "titles": "premier_ministre_de_France|Absent"}
    v1 = httpx.get(f"{base}/w/api.php", params=common).json()
    assert v1["query"]["normalized"] == [
        {"from": "premier_ministre_de_France", "to": "Premier ministre de France"}]
    assert v1["query"]["redirects"] == [
        {"from": "Premier ministre de France", "to": "Premier ministre français"}]
    pages = v1["query"]["pages"]
    assert pages["-1"] == {"ns": 0, "title": "Absent", "missing": ""}
    [present] = [p for key, p in pages.items() if key != "-1"]
    assert present["title"] == "Premier ministre français" and present["extract"] == PM_TEXT
    v2 = httpx.get(f"{base}/w/api.php", params={**common, "formatversion": "2"}).json()
    assert [p["title"] for p in v2["query"]["pages"]] == ["Premier ministre français", "Absent"]
    assert v2["query"]["pages"][1]["missing"] is True
    search = httpx.get(f"{base}/w/api.php", params={"action": "query", "format": "json", "list": "search",
                                                   "srsearch": "EDITH cresson", "srlimit": "5"}).json()
    assert [h["title"] for h in search["query"]["search"]][0] == "Édith Cresson"
