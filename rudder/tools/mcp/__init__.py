"""Tools from MCP servers (the Model Context Protocol), through the official `mcp` SDK. See docs/mcp.md."""
