"""docs/guide.md's MCP client configuration, used as an MCP client uses it: the ```json block's
`mcpServers` entry is started over stdio by the official Python SDK (the `memorable` of this
build for the command, a scratch store for the path), and its tools are called."""

from __future__ import annotations

import asyncio
import json
import os
import re
from pathlib import Path

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guide.md"
BIN = os.environ["MEMORABLE_BIN"]


def configurations() -> list[dict]:
    blocks = re.findall(r"^```json\n(.*?)^```$", GUIDE.read_text(), re.S | re.M)
    return [json.loads(b) for b in blocks]


def test_the_guides_mcp_configuration_works(tmp_path: Path) -> None:
    servers = [s for c in configurations() for s in c["mcpServers"].values()]
    assert len(servers) == 1
    server = servers[0]
    assert server["command"] == "memorable"
    args = list(server["args"])
    args[args.index("--store") + 1] = str(tmp_path / "store")  # a scratch store, not the example path
    params = StdioServerParameters(command=BIN, args=args)

    async def main() -> None:
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                names = {t.name for t in (await session.list_tools()).tools}
                # The tools the guide lists, by name.
                listed = set(re.findall(r"`(\w+)`", GUIDE.read_text().split("The agent gets the tools")[1].split(".")[0]))
                assert names == listed, (names, listed)
                r = await session.call_tool("remember", {"text": "My sister Lena visits from Lisbon in June"})
                assert not r.is_error, r.content
                r = await session.call_tool("recall", {"query": "when does Lena come?", "limit": 1})
                assert "Lisbon" in r.structured_content["hits"][0]["text"]

    asyncio.run(main())
