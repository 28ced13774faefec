"""A Python SDK 2.x client (mcp.Client, version negotiation on "auto") that lists, creates,
mounts, calls and deletes through the daemon, then prints what it saw as JSON.

Usage: era_client.py URL RUNTIME_EXEC MOUNT_NAME
"""

import asyncio
import json
import sys

from mcp import Client


async def main(url: str, runtime_exec: str, name: str) -> None:
    async with Client(url) as client:
        tools = [tool.name for tool in (await client.list_tools()).tools]
        created = await client.call_tool("create_mcp_server", {
            "runtime_exec": runtime_exec, "runtime_mcp": "serve", "wait_for_ready": True})
        job_name = created.structured_content["job_name"]
        await client.call_tool("mount_mcp_server", {"job_name": job_name, "name": name})
        echoed = await client.call_tool(f"{name}_echo", {"text": f"hello from {name}"})
        await client.call_tool("delete_mcp_server", {"job_name": job_name})
        print(json.dumps({
            "protocolVersion": client.protocol_version,
            "tools": tools,
            "echoed": echoed.content[0].text,
        }))


asyncio.run(main(*sys.argv[1:4]))
