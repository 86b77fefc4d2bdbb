"""voicegw-echo: the echo voice API as a voicegw provider plugin.

The plugin registers itself through the ``voicegw.plugins`` entry point: once the package is
installed, ``plugin = "echo"`` works in any voicegw configuration.
"""

__version__ = "0.1.0"
