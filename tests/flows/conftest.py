"""Fixtures of the prompt flow tests; each comes from its own module (one import line per fixture module)."""

from fake_llm import fake_llm, fake_llm_server  # noqa: F401  (the OpenAI-compatible fixture server)
from fake_wiki import fake_wiki, fake_wiki_server  # noqa: F401  (the MediaWiki fixture server)
from flow_folders import write_flow  # noqa: F401  (writes flow folders for the engine tests)
