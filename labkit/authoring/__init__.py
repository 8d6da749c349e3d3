"""Authoring: lessons and exercises generated from one source per lab."""
