"""Rudder as an Agent Client Protocol server (`rudder acp`): JSON-RPC over stdio for Zed, Toad and others.

server.py   the ACP Agent: sessions, prompts, cancel, modes and steering config options, load
updates.py  Session events -> ACP session/update notifications and permission requests (pure functions)
files.py    the editor's file system (unsaved buffers) behind the agent's file tools
"""
