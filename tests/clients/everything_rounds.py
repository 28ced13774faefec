"""A Python SDK 2.x client (mcp.Client, auto: 2026-07-28 against the daemon) that mounts
`server-everything` (a server of an older revision) and calls its tools that sample, elicit
and ask for roots; the daemon asks it through input_required results, which the SDK answers
with the callbacks below and retries. Prints what came back as JSON.

Usage: everything_rounds.py URL
"""

import asyncio
import json
import sys

import mcp.types as types
from mcp import Client


async def sample(context, params):
    prompt = params.messages[0].content.text
    return types.CreateMessageResult(
        role="assistant",
        content=types.TextContent(type="text", text=f"python sampled: {prompt}"),
        model="test-model",
    )


async def elicit(context, params):
    fields = params.requested_schema.get("properties", {})
    answers = {"string": "Ada", "number": 36, "integer": 36, "boolean": True}
    content = {}
    for name, field in fields.items():
        if "enum" in field:
            content[name] = field["enum"][0]
        elif field.get("type") in answers:
            content[name] = answers[field["type"]]
    return types.ElicitResult(action="accept", content=content)


async def roots(context):
    return types.ListRootsResult(roots=[types.Root(uri="file:///python-root", name="root")])


def text(result):
    return "\n".join(c.text for c in result.content if c.type == "text")


async def main(url: str) -> None:
    async with Client(
        url, sampling_callback=sample, elicitation_callback=elicit, list_roots_callback=roots
    ) as client:
        created = await client.call_tool(
            "create_mcp_server", {"preset": "everything", "wait_for_ready": True})
        job_name = created.structured_content["job_name"]
        await client.call_tool("mount_mcp_server", {"job_name": job_name, "name": "ev"})
        try:
            sampled = await client.call_tool("ev_trigger-sampling-request", {"prompt": "hi"})
            elicited = await client.call_tool("ev_trigger-elicitation-request", {})
            listed = await client.call_tool("ev_get-roots-list", {})
        finally:
            await client.call_tool("delete_mcp_server", {"job_name": job_name})
        print(json.dumps({
            "protocolVersion": client.protocol_version,
            "sampled": text(sampled),
            "elicited": text(elicited),
            "roots": text(listed),
        }))


asyncio.run(main(sys.argv[1]))
