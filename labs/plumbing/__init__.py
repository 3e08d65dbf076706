"""Plumbing the three labs share: starting processes, colour, HTTP with JSON. Not a lesson."""
