"""MCP tools as Rudder tools: named `server.tool`, their schema as the arguments, their result as text.

A call runs outside any sandbox (the server is a program the user chose to run, or a service it reaches)
and counts as EXECUTE: the approval policy asks before each call unless approval is "auto"
(rudder/agent/policy.py). What comes back becomes the observation: text as is, other content (images,
audio, resources) summarised in a line, structured content as JSON when there is no text; an error
result, a timeout or a dead server is a ToolError, which the agent shows the model as an error.
"""

from __future__ import annotations

import base64
import json
import re
from typing import TYPE_CHECKING, Any

from rudder.interfaces import StepKind
from rudder.tools.base import Access, Tool, ToolArgs, ToolError, Workspace, truncate
from rudder.tools.mcp.hub import McpHub, McpToolSpec
from rudder.tools.mcp.schema import arguments_model, reserved_parameters

if TYPE_CHECKING:
    from mcp_types import CallToolResult

DESCRIPTION_LIMIT = 300  # characters of a server's tool description in the prompt (a small context)
TOOL_NAME = re.compile(r"^[A-Za-z0-9_./-]{1,64}$")  # what the grammars and the DSML tags can carry


def _size(data: str) -> str:
    try:
        count = len(base64.b64decode(data, validate=False))
    except (ValueError, TypeError):
        count = len(data)
    return f"{count / 1024:.1f} KB" if count >= 1024 else f"{count} bytes"


def _block_text(block: Any) -> str:
    from mcp_types import (
        AudioContent,
        BlobResourceContents,
        EmbeddedResource,
        ImageContent,
        ResourceLink,
        TextContent,
        TextResourceContents,
    )

    if isinstance(block, TextContent):
        return block.text
    if isinstance(block, ImageContent):
        return f"[image: {block.mime_type}, {_size(block.data)}; not shown to the model]"
    if isinstance(block, AudioContent):
        return f"[audio: {block.mime_type}, {_size(block.data)}; not shown to the model]"
    if isinstance(block, ResourceLink):
        return f"[resource link: {block.uri}" + (f" ({block.name})" if block.name else "") + "]"
    if isinstance(block, EmbeddedResource):
        resource = block.resource
        if isinstance(resource, TextResourceContents):
            return f"[resource {resource.uri}]\n{resource.text}"
        if isinstance(resource, BlobResourceContents):
            return f"[resource {resource.uri}: {resource.mime_type or 'binary'}, {_size(resource.blob)}; not shown]"
    return f"[{getattr(block, 'type', type(block).__name__)} content; not shown to the model]"


def result_text(result: CallToolResult) -> str:
    """The observation for a tool result: its content blocks in order, as text."""
    parts = [_block_text(block) for block in result.content]
    if not any(block.type == "text"  for block in result.content) and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    return "\n".join(part for part in parts if part) or "(the tool returned nothing)"


def _description(spec: McpToolSpec) -> str:
    first = spec.description.strip().split("\n\n")[0].replace("\n", " ")
    if len(first) > DESCRIPTION_LIMIT:
        first = first[: DESCRIPTION_LIMIT - 3].rstrip() + "..."
    return f"{first} (MCP server {spec.server})" if first else f"tool of MCP server {spec.server}"


def mcp_tool(hub: McpHub, spec: McpToolSpec) -> Tool:
    """A Tool that calls `spec` through `hub`."""

    def call(ws: Workspace, args: ToolArgs) -> str:
        result = hub.call(spec.server, spec.name, args.model_dump(mode="json"), ws.cancel)
        text = truncate(result_text(result), ws.output_limit)
        if result.is_error:
            raise ToolError(f"{spec.server}.{spec.name} returned an error: {text}")
        return text

    name = f"{spec.server}.{spec.name}"
    return Tool(
        name=name,
        description=_description(spec),
        args=arguments_model(name, spec.input_schema),
        fn=call,
        access=Access.EXECUTE,
        step_kind=StepKind.EXPLORE,
        server=spec.server,
    )


def mcp_tools(hub: McpHub, specs: list[McpToolSpec], taken: set[str]) -> tuple[dict[str, Tool], list[str]]:
    """The tools to offer (by name) and one sentence per tool left out, and why. `taken`: names in use."""
    tools: dict[str, Tool] = {}
    problems: list[str] = []
    for spec in specs:
        name = f"{spec.server}.{spec.name}"
        allowed = hub.servers[spec.server].tools
        if allowed is not None and spec.name not in allowed:
            continue
        if not TOOL_NAME.match(spec.name):
            problems.append(f"MCP tool {name!r} is not offered: its name has characters a tool call cannot carry")
        elif name in taken or name in tools:
            problems.append(f"MCP tool {name!r} is not offered: the name is already taken")
        elif clash := reserved_parameters(spec.input_schema):
            problems.append(f"MCP tool {name!r} is not offered: its parameter {clash[0]!r} is a tool-call keyword")
        else:
            tools[name] = mcp_tool(hub, spec)
    return tools, problems
