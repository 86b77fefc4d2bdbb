"""Huawei Cloud Voice Call provider for voicegw (plugin name ``huawei``)."""
