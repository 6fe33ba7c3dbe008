from urllib.parse import quote_plus

from promptflow.core import tool


@tool
def get_wiki_url(entity: str, count=2):
    """Stand-in for the sample's search-page scraper: search URLs for the entity, built offline."""
    words = entity.strip().splitlines()[0] if entity.strip() else ""
    urls = [f"https://en.wikipedia.org/w/index.php?search={quote_plus(words)}"]
    urls += [f"https://en.wikipedia.org/w/index.php?search={quote_plus(words)}+{i}" for i in range(1, count)]
    return urls[:count]
