"""Thin adapters over OS-specific sources (Windows registry, command outputs).

Collectors talk to these interfaces only, so the parsing of Windows sources is tested on recorded outputs
on any OS and the live adapters stay a few lines long.
"""
