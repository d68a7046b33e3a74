"""Writes docs/tui.svg: the TUI with a short run in its transcript and the steering panel open.

The transcript is fed the events of a real run's shape (tests/ui/test_snapshots.py's script), so the
picture is the same on every machine; the model is the embedded one.

    python bench/tui_screenshot.py [--out docs/tui.svg]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from rudder.config import load_config
from rudder.engine.engine import Engine
from rudder.ui.app import RudderApp
from tests.helpers import make_repo
from tests.ui.test_snapshots import feed


async def shoot(out: Path) -> None:
    repo = Path(tempfile.mkdtemp()) / "demo"
    make_repo(repo, {"notes.txt": "old notes\n", "hello.py": 'print("hello")\n'})
    config = load_config(repo, {"agent": {"approval": "ask", "sandbox": "off"}})
    engine = Engine(config.model)
    app = RudderApp(repo, config, engine=engine, mode="fast-draft")
    async with app.run_test(size=(130, 38)) as pilot:
        await feed(pilot)
        await pilot.press("ctrl+t")
        meter = app.screen.bridge.meter
        meter.readings["terse"].extend([0.05, 0.12, 0.2, 0.16, 0.22, 0.25, 0.19, 0.24, 0.27, 0.21, 0.26, 0.3])
        await pilot.pause(0.4)
        app.save_screenshot(str(out.name), str(out.parent))
    engine.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs/tui.svg"))
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    asyncio.run(shoot(args.out))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
