"""Flattening a chat into a completion prompt for a local base model (pure logic)."""

from __future__ import annotations

from headrace.flows.local import completion_prompt
from headrace.flows.templates import ChatMessage, Segment


def _msg(role: str, text: str) -> ChatMessage:
    return ChatMessage(role, [Segment(text)])


def test_a_chat_becomes_question_and_answer_lines() -> None:
    prompt = completion_prompt([_msg("system", "Context: Paris is in France."), _msg("user", "Where is Paris?"),
                                _msg("assistant", "In France."), _msg("user", "And Lyon?")])
    assert prompt == ("Context: Paris is in France.\n\nQuestion: Where is Paris?\nAnswer: In France.\n"
                      "Question: And Lyon?\nAnswer:")


def test_a_user_message_with_its_own_cue_is_kept_as_written() -> None:
    prompt = completion_prompt([_msg("system", "Turn the question into a search query."),
                                _msg("user", "Question: How tall is the Eiffel Tower?\nSearch query:")])
    assert prompt == ("Turn the question into a search query.\n\n"
                      "Question: How tall is the Eiffel Tower?\nSearch query:")


def test_without_system_text_there_is_no_blank_head() -> None:
    assert completion_prompt([_msg("user", "Hi")]) == "Question: Hi\nAnswer:"
