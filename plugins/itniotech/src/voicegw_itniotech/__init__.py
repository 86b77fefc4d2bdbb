"""ITNIO Tech voice API provider for voicegw (plugin name ``itniotech``)."""
