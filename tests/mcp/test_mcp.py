"""MCP with the official Python SDK (PyPI `mcp`) as the client, over both transports:
`memorable mcp` on stdio and `memorable serve` at /mcp with bearer keys.

Run by scripts/test-server.sh (which builds the binary and a venv with `mcp`):
    MEMORABLE_BIN=target/.../memorable python -m pytest tests/mcp
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import ClientSession, MCPError, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

BIN = os.environ["MEMORABLE_BIN"]
TOOLS = {"remember", "recall", "recent", "get_memory", "forget", "emotional_state", "context_frame", "consolidate"}


async def exercise(session: ClientSession) -> dict[str, Any]:
    """List the tools, remember two things, recall one, and check what comes back."""
    init = await session.initialize()
    assert init.server_info.name == "memorable"
    tools = (await session.list_tools()).tools
    assert {t.name for t in tools} == TOOLS
    for t in tools:
        assert t.description and t.input_schema["type"] == "object", t.name
    remember = next(t for t in tools if t.name == "remember")
    assert remember.input_schema["required"] == ["text"]

    r = await session.call_tool("remember", {"text": "My sister Ana lives in Lisbon", "speaker": "me", "tags": ["family"]})
    assert not r.is_error, r.content
    first = r.structured_content["id"]
    r = await session.call_tool("remember", {"text": "I am allergic to peanuts"})
    second = r.structured_content["id"]
    assert second != first and str(second) in r.content[0].text

    r = await session.call_tool("recall", {"query": "where does my sister live?", "limit": 1})
    assert not r.is_error
    hits = r.structured_content["hits"]
    assert [h["id"] for h in hits] == [first] and "Lisbon" in r.content[0].text
    assert hits[0]["score"] > 0 and "breakdown" in hits[0]
    r = await session.call_tool("recall", {"query": "sister", "tags": ["nothing-has-this"]})
    assert r.structured_content["hits"] == []

    r = await session.call_tool("get_memory", {"id": first})
    assert r.structured_content["text"] == "My sister Ana lives in Lisbon"
    r = await session.call_tool("forget", {"id": second})
    assert r.structured_content == {"forgotten": 1}
    r = await session.call_tool("recent", {})
    assert [m["id"] for m in r.structured_content["memories"]] == [first]

    # A core error is a failed call the model can read; bad arguments are protocol errors.
    r = await session.call_tool("remember", {"text": "   "})
    assert r.is_error and r.structured_content["error"]["name"] == "EMPTY_TEXT"
    r = await session.call_tool("get_memory", {"id": 999999})
    assert r.is_error and r.structured_content["error"]["name"] == "NOT_FOUND"
    with pytest.raises(MCPError):
        await session.call_tool("remember", {"txt": "typo"})
    return {"first": first}


def test_stdio(tmp_path: Path) -> None:
    params = StdioServerParameters(
        command=BIN, args=["--embedder", "hashing", "--store", str(tmp_path / "store"), "mcp", "--user", "alice"]
    )

    async def main() -> None:
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as session:
                await exercise(session)

    asyncio.run(main())
    # The tools wrote to the store, for alice.
    out = subprocess.run(
        [BIN, "--embedder", "hashing", "--store", str(tmp_path / "store"), "--json", "recent", "--user", "alice"],
        capture_output=True, text=True, check=True,
    )
    assert "Lisbon" in out.stdout


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@pytest.fixture
def server(tmp_path: Path):
    settings = tmp_path / "server.toml"
    settings.write_text(
        f'[[server.keys]]\nname = "alice-app"\nsha256 = "{digest("alice-key")}"\nusers = ["alice"]\n'
        f'[[server.keys]]\nname = "tenants"\nsha256 = "{digest("tenant-key")}"\nuser_prefix = "t/"\n'
    )
    proc = subprocess.Popen(
        [BIN, "--embedder", "hashing", "--store", str(tmp_path / "store"), "serve", "--listen", "127.0.0.1:0",
         "--config", str(settings)],
        stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("listening on http://"), line
    yield line.strip().removeprefix("listening on ")
    proc.terminate()
    assert proc.wait(timeout=30) == 0


async def http_session(url: str, key: str, run) -> Any:
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=30.0) as http:
        async with streamable_http_client(url, http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                return await run(session)


def test_streamable_http(server: str) -> None:
    ids = asyncio.run(http_session(f"{server}/mcp", "alice-key", exercise))

    async def other_tenant(session: ClientSession) -> None:
        await session.initialize()
        r = await session.call_tool("recall", {"query": "sister Lisbon"})
        assert r.structured_content["hits"] == []
        r = await session.call_tool("get_memory", {"id": ids["first"]})
        assert r.is_error and r.structured_content["error"]["name"] == "NOT_FOUND"

    # A prefix key names its user in the URL; alice's memories are not there.
    asyncio.run(http_session(f"{server}/mcp?user=t/bob", "tenant-key", other_tenant))


def leaves(e: BaseException):
    """The exceptions inside (nested) exception groups."""
    if isinstance(e, BaseExceptionGroup):
        for inner in e.exceptions:
            yield from leaves(inner)
    else:
        yield e


def test_http_refuses_unknown_keys_and_foreign_users(server: str) -> None:
    async def nothing(session: ClientSession) -> None:
        await session.initialize()
        await session.call_tool("recent", {})

    # An unknown key never gets a session (the SDK raises whatever its transport makes of
    # the 401; the plain request below pins the status).
    with pytest.raises(BaseException):
        asyncio.run(asyncio.wait_for(http_session(f"{server}/mcp", "wrong-key", nothing), 20))
    # A key asking for a user outside its scope gets a protocol error on the call (raised
    # through the SDK's task group, hence the unwrapping).
    with pytest.raises(BaseException) as caught:
        asyncio.run(asyncio.wait_for(http_session(f"{server}/mcp?user=alice", "tenant-key", nothing), 20))
    errors = list(leaves(caught.value))
    assert any(isinstance(e, MCPError) and "FORBIDDEN" in str(e) for e in errors), errors
    # A plain request shows the status: 401 without a known key.
    r = httpx2.post(f"{server}/mcp", json={}, headers={"Authorization": "Bearer wrong-key"})
    assert r.status_code == 401 and r.json()["error"]["name"] == "UNAUTHORIZED"
