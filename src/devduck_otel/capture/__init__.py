"""Capture: the decorators, snapshots, the sys layer; everything that makes OTel data."""
