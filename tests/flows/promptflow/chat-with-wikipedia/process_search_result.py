from promptflow._core.tool import tool


@tool
def process_search_result(search_result):
    """Join the pairs into "Content:" / "Source:" blocks, as the sample does."""
    return "\n\n".join(f"Content: {text}\nSource: {url}" for url, text in search_result)
