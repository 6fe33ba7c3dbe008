"""``promptflow.tools``: the built-in LLM tools as functions (``openai``, ``aoai``)."""
