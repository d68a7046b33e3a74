"""The agent's tools: typed functions confined to the repository root (see base.py)."""
