"""Durable entities of the app."""
