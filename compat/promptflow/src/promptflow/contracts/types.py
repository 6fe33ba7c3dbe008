"""``promptflow.contracts.types``: ``PromptTemplate`` and ``Secret`` (both strings)."""

__all__ = ["PromptTemplate", "Secret"]


class PromptTemplate(str):
    """A prompt template's text (a parameter typed so gets the template)."""


class Secret(str):
    """A secret's text (used in custom connection classes)."""
