from promptflow import tool


@tool
def search_result_from_url(url_list: list, count: int = 10):
    """Stand-in for the page fetcher of the sample: a (url, text) pair per URL, ``count`` sentences each."""
    return [(url, " ".join(f"Sentence {i} about {url}." for i in range(1, count + 1))) for url in url_list]
