"""pluggy hook specifications: one registration hook and one observer hook.

A plugin module implements ``voicegw_register_providers`` and adds its providers to the
registry it is handed (the tox 4 style: no ``firstresult``, no hook per call). Hooks stay
synchronous and do no I/O; the async work lives on the provider objects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from voicegw.models import CallEvent
    from voicegw.plugins import PluginRegistry

__all__ = ["hookimpl", "hookspec"]

PROJECT_NAME = "voicegw"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
#: Decorate your plugin's hook functions with this: ``@hookimpl def voicegw_register_providers``.
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def voicegw_register_providers(registry: PluginRegistry) -> None:
    """Add this plugin's providers with ``registry.add(ProviderPlugin(...))``.

    Called once, when the registry first loads its plugins. Do not do I/O here.
    """


@hookspec
def voicegw_event_received(event: CallEvent) -> None:
    """Observe every normalized event once it is stored (pushes and gateway results).

    Called synchronously in the receiver's event loop: keep it quick, hand long work to a
    queue. An exception here is logged and does not stop the receiver.
    """
