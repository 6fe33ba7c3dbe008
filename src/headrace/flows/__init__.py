"""Prompt flows: DAGs of LLM calls, prompts and Python tools, defined by a folder with ``flow.yaml``."""
