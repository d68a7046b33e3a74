"""The command palette (ctrl+p): every slash command and each mode, each ending in one of the main screen's
actions. Apart from commands.py so that the screens can read slash commands without the palette knowing
them back (commands <-> screens/main was an import cycle)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from rudder.ui.screens.main import MainScreen


class RudderCommands(Provider):
    """Everything a slash command does, and each mode, in the palette (ctrl+p)."""

    def _entries(self) -> list[tuple[str, Callable[[], object], str]]:
        screen: MainScreen = self.screen  # type: ignore[assignment]
        entries: list[tuple[str, Callable[[], object], str]] = [
            ("Undo the last step", partial(screen.run_slash, "/undo"), "revert the agent's last write"),
            ("Show the diff", partial(screen.run_slash, "/diff"), "working tree vs HEAD"),
            ("Tokens", partial(screen.run_slash, "/tokens"), "tokens spent, context used"),
            ("New session", partial(screen.run_slash, "/new"), "start over with a new trajectory"),
            ("Resume a session", partial(screen.run_slash, "/sessions"), "saved trajectories"),
            ("Instructions", partial(screen.run_slash, "/instructions"), "the AGENTS.md files the model reads"),
            ("Steering panel", screen.action_toggle_steering, "sliders and concept meters"),
            ("Pick a mode", screen.action_pick_mode, "ctrl+o"),
        ]
        bridge = getattr(screen, "bridge", None)
        for command in bridge.commands if bridge is not None else []:  # custom commands, without arguments
            entries.append((f"/{command.name}", partial(screen.run_slash, f"/{command.name}"), command.label))
        for name in bridge.modes if bridge is not None else []:
            entries.append((f"Mode: {name} (next step)", partial(screen.switch_mode, name, False), "switch mode"))
            entries.append((f"Mode: {name} (now)", partial(screen.switch_mode, name, True), "switch at the next token"))
        return entries

    async def discover(self) -> Hits:
        for title, callback, help_ in self._entries():
            yield DiscoveryHit(title, callback, help=help_)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, callback, help_ in self._entries():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_)
