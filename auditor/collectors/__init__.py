"""Collectors gather facts into a `Facts` object and record what they covered. They never judge."""
