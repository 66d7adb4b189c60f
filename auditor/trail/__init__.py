"""The export trail: order exports downloaded from shop back offices (browser histories), what became of them, and
signs that they went to removable drives."""
