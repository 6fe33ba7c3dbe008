"""A minimal OpenAI-compatible chat server for benchmarks: every answer takes a fixed latency.

Run in its own process (so it does not share the benchmark's interpreter):

    python benchmarks/_llm_server.py --port 8123 --latency 0.05 --slots 64

``--slots`` is the server's limit: at most that many requests are answered at once, the others wait
(as a model server with that many parallel sequences would). ``GET /v1/models`` answers at once.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


def build_app(latency: float, slots: int) -> Starlette:
    gate = asyncio.Semaphore(slots)

    async def chat(request: Request) -> JSONResponse:
        body = await request.json()
        question = body["messages"][-1]["content"]
        async with gate:
            await asyncio.sleep(latency)
        answer = f"echo: {question}"
        return JSONResponse({
            "id": "bench", "object": "chat.completion", "created": int(time.time()), "model": body.get("model", "m"),
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": answer}}],
            "usage": {"prompt_tokens": len(question.split()), "completion_tokens": len(answer.split()),
                      "total_tokens": len(question.split()) + len(answer.split())},
        })

    async def models(_: Request) -> JSONResponse:
        return JSONResponse({"object": "list", "data": [{"id": "m", "object": "model"}]})

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"]),
                             Route("/v1/models", models)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--slots", type=int, default=64)
    args = parser.parse_args()
    uvicorn.run(build_app(args.latency, args.slots), host="127.0.0.1", port=args.port, log_level="warning",
                access_log=False, backlog=2048)


if __name__ == "__main__":
    main()
