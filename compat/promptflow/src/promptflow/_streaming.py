"""A streamed call of a loaded flow: its streamed output (a chat flow's answer) as a generator of chunks.

The line runs on an event loop of its own that lives as long as the generator: the chunks are read from
the model while the caller iterates, not collected first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

__all__ = ["streamed_call"]


def streamed_call(flow: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    """The line's outputs, the streamed one a generator of text chunks (the others as values).

    Raises: the line's error (a ``FlowNodeError`` naming the node) when it failed before streaming."""
    loop = asyncio.new_event_loop()
    try:
        result = loop.run_until_complete(flow.arun(inputs, stream=True))
        result.raise_for_status()
    except BaseException:
        loop.close()
        raise
    streamed = [k for k, v in result.outputs.items() if hasattr(v, "__aiter__")]
    if not streamed:
        loop.close()
        return result.outputs
    outputs = dict(result.outputs)
    outputs[streamed[0]] = _chunks(loop, outputs[streamed[0]])
    return outputs


def _chunks(loop: asyncio.AbstractEventLoop, stream: Any) -> Iterator[str]:
    iterator = stream.__aiter__()
    try:
        while True:
            try:
                yield loop.run_until_complete(iterator.__anext__())
            except StopAsyncIteration:
                return
    finally:
        if hasattr(iterator, "aclose"):
            loop.run_until_complete(iterator.aclose())
        loop.close()
