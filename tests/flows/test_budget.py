"""Token counting and fitting a prompt into a budget by cutting trimmable blocks."""

from __future__ import annotations

import asyncio
import copy

import pytest
from fake_llm import FakeLLM

from headrace.errors import TokenBudgetError
from headrace.flows import budget
from headrace.flows.budget import count_tokens, counter_for, encoding_for_model, fit, prompt_limit
from headrace.flows.connections import Connection, known_context_size
from headrace.flows.llm_node import LLMCall, OpenAIRunner
from headrace.flows.templates import ChatMessage, Segment, render_chat

DOC_A = ("Paris is the capital of France. It has about two million inhabitants. The Seine flows through it. "
         "The Louvre is its largest museum. Its metro opened in 1900.")
DOC_B = ("Lyon is the third city of France. It lies where the Rhone meets the Saone. It is known for its food. "
         "Its old town is a World Heritage Site.")
QUESTION = "Which river flows through the capital of France?"
TEMPLATE = """# system:
Answer from the context only.
{% for doc in docs %}{% trimmable %}
Context: {{ doc }}
{% endtrimmable %}{% endfor %}
# user:
{{ question }}"""


def prompt(docs: list[str] = [DOC_A, DOC_B]) -> list[ChatMessage]:  # noqa: B006 - never mutated
    return render_chat(TEMPLATE, {"docs": docs, "question": QUESTION}, origin="qa.jinja2")


def test_counts_with_the_model_tokenizer_and_openai_framing() -> None:
    enc = budget._encoding("o200k_base")
    msgs = [ChatMessage("system", [Segment("Be brief.")]), ChatMessage("user", [Segment("Hello there!")])]
    expected = sum(3 + len(enc.encode_ordinary(m.role)) + len(enc.encode_ordinary(m.content)) for m in msgs) + 3
    assert count_tokens(msgs, "gpt-4o-mini") == expected
    assert [encoding_for_model(m) for m in ("gpt-4o", "openai/gpt-4.1-mini", "o3-mini", "gpt-4", "gpt-35-turbo",
                                             "llama3", None)] == [
        "o200k_base", "o200k_base", "o200k_base", "cl100k_base", "cl100k_base", None, None]


def test_other_models_get_the_conservative_estimate() -> None:
    counter = counter_for("gemma-3-270m")
    assert counter.name == budget.ESTIMATE
    text = "word " * 100
    cl100k = budget._bpe_count("cl100k_base", text)
    assert counter.count(text) == max(-(-cl100k * 5 // 4), -(-len(text) // 3))
    assert counter.count(text) > counter_for("gpt-4").count(text)
    assert counter.count("") == 0
    # Special-token text is counted as text, never refused.
    assert counter_for("gpt-4o").count("<|endoftext|>") > 1


def test_long_text_is_counted_in_pieces() -> None:
    sentence = "The quick brown fox jumps over the lazy dog. "
    per_sentence = budget._bpe_count("cl100k_base", sentence * 100) / 100
    total = budget._bpe_count("cl100k_base", sentence * 30_000)  # over bpe_openai's 200k tokens per call
    assert total > 200_000 and total == pytest.approx(30_000 * per_sentence, rel=0.001)


def test_prompt_limit() -> None:
    assert prompt_limit(8192, None, None) == 8192 - budget.COMPLETION_RESERVE
    assert prompt_limit(128_000, 3000, 500) == 2500
    assert prompt_limit(4096, 10_000, 100) == 3996
    assert prompt_limit(1000, 200, 400) == -200


def test_a_prompt_that_fits_is_left_alone() -> None:
    msgs = prompt()
    result = fit(msgs, 10_000, "gpt-4o")
    assert result.cut == [] and result.counted_with == "o200k_base"
    assert [m.to_dict() for m in result.messages] == [m.to_dict() for m in msgs]
    assert result.prompt_tokens == count_tokens(msgs, "gpt-4o")


def test_the_last_block_goes_first() -> None:
    msgs = prompt()
    original = copy.deepcopy(msgs)
    limit = count_tokens(prompt([DOC_A]), "gpt-4o")  # exactly room for the first document
    result = fit(msgs, limit, "gpt-4o")
    assert result.prompt_tokens <= limit
    system = result.messages[0].content
    assert DOC_A in system and "Lyon" not in system
    assert result.messages[1].content == QUESTION
    assert [(c["message"], c["block"], c["what"]) for c in result.cut] == [(0, 1, "block")]
    assert result.cut[0]["preview"].startswith("Context: Lyon is the third city")
    assert result.cut[0]["tokens_removed"] == count_tokens(msgs, "gpt-4o") - result.prompt_tokens
    assert msgs == original  # the input is never changed


def test_then_sentences_of_the_remaining_last_block() -> None:
    msgs = prompt()
    bare = count_tokens(prompt([]), "gpt-4o")
    full_a = count_tokens(prompt([DOC_A]), "gpt-4o")
    result = fit(msgs, (bare + full_a) // 2, "gpt-4o")
    assert [(c["block"], c["what"]) for c in result.cut] == [(1, "block"), (0, "sentences")]
    system = result.messages[0].content
    kept = system.split("Context: ", 1)[1]
    assert DOC_A.startswith(kept) and kept.endswith(".") and 0 < len(kept) < len(DOC_A)
    assert result.cut[1]["preview"] == DOC_A[len(kept):].strip()[:79] + "…"
    assert result.cut[1]["chars_kept"] == len("\nContext: ") + len(kept)
    assert result.messages[1].content == QUESTION
    # As much as fits is kept: one more sentence would not.
    more = DOC_A[: DOC_A.index(". ", len(kept)) + 1]
    with_more = [ChatMessage("system", [Segment(system.replace(kept, more))]), result.messages[1]]
    assert count_tokens(with_more, "gpt-4o") > (bare + full_a) // 2 >= result.prompt_tokens


def test_sentences_are_split_by_language() -> None:
    doc = "M. Dupont habite Paris. Il aime la Seine. Il prend le métro."
    msgs = render_chat("# user:\n{% trimmable %}{{ doc }}{% endtrimmable %}\nQ ?", {"doc": doc}, origin="t")
    expected = "M. Dupont habite Paris. \nQ ?"  # "M." did not end a sentence
    result = fit(msgs, count_tokens([ChatMessage("user", [Segment(expected)])], "gpt-4o"), "gpt-4o", language="fr")
    assert result.messages[0].content == expected
    assert result.cut[0]["preview"] == "Il aime la Seine. Il prend le métro."


def test_long_blocks_are_cut_at_a_sentence_near_the_limit() -> None:
    doc = "".join(f"Sentence number {i} is here. " for i in range(3000))  # ~100k characters
    msgs = render_chat("# user:\n{% trimmable %}{{ doc }}{% endtrimmable %}\nQ?", {"doc": doc}, origin="t")
    result = fit(msgs, 20_000, "gpt-4o")
    kept = result.messages[0].segments[0].text
    assert doc.startswith(kept) and kept.endswith("is here. ") and result.prompt_tokens <= 20_000
    one_more = doc[: doc.index("is here. ", len(kept)) + len("is here. ")]
    assert count_tokens([ChatMessage("user", [Segment(one_more), Segment("\nQ?")])], "gpt-4o") > 20_000


def test_a_sentence_longer_than_the_window_is_cut_before_it() -> None:
    doc = "Short one. " + "word " * 3000 + "end. Another one."
    msgs = render_chat("# user:\n{% trimmable %}{{ doc }}{% endtrimmable %}\nQ?", {"doc": doc}, origin="t")
    result = fit(msgs, 1000, "gpt-4o")
    assert result.messages[0].content == "Short one. \nQ?"
    assert result.cut[0]["what"] == "sentences" and result.cut[0]["preview"].startswith("word word")


def test_nothing_trimmable_left_raises_before_any_call() -> None:
    msgs = prompt()
    minimal = count_tokens(prompt([]), "gpt-4o")
    with pytest.raises(TokenBudgetError) as info:
        fit(msgs, minimal - 1, "gpt-4o", node="answer")
    assert (info.value.node, info.value.tokens, info.value.limit) == ("answer", minimal, minimal - 1)
    assert "o200k_base" in str(info.value) and "context_budget" in str(info.value)
    assert fit(msgs, minimal, "gpt-4o").messages[0].content == "Answer from the context only."


def test_the_runner_trims_to_the_node_budget_and_traces_the_cut(fake_llm: FakeLLM) -> None:
    conn = Connection("llm", "openai", fake_llm.base_url, "k")
    runner = OpenAIRunner(lambda name: conn, environ={})
    budget_tokens = count_tokens(prompt([DOC_A]), "gpt-4o") + 64
    result = asyncio.run(runner.run(LLMCall("answer", prompt(), "llm", {"model": "gpt-4o", "max_tokens": 64},
                                            context_budget=budget_tokens)))
    sent = fake_llm.last.body["messages"]
    assert DOC_A in sent[0]["content"] and "Lyon" not in sent[0]["content"] and sent[1]["content"] == QUESTION
    assert result.trace["messages"] == sent
    assert result.trace["limit"] == budget_tokens - 64
    assert [c["what"] for c in result.trace["cut"]] == ["block"]


def test_the_runner_raises_token_budget_error_without_a_request(fake_llm: FakeLLM) -> None:
    conn = Connection("llm", "openai", fake_llm.base_url, "k", context_size=4096)
    runner = OpenAIRunner(lambda name: conn, environ={})
    with pytest.raises(TokenBudgetError) as info:
        asyncio.run(runner.run(LLMCall("answer", prompt(), "llm", {"model": "gpt-4o", "max_tokens": 4090})))
    assert info.value.limit == 6 and info.value.node == "answer"
    assert fake_llm.requests == []


def test_known_context_sizes_use_the_longest_prefix() -> None:
    assert known_context_size("gpt-4o-mini-2024-07-18") == 128_000
    assert known_context_size("gpt-4-32k-0613") == 32_768
    assert known_context_size("gpt-4-0613") == 8192
    assert known_context_size("gpt-4.1-nano") == 1_047_576
    assert known_context_size("azure/gpt-35-turbo") == 16_385
    assert known_context_size("something-else") is None and known_context_size(None) is None
