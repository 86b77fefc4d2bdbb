"""``voicegw new-plugin NAME``: scaffold a third-party provider plugin package."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def add_commands(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add ``new-plugin`` to the ``voicegw`` parser (filled in by the plugin-kit work)."""
