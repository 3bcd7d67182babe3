"""Durable orchestrations and activities of the app."""
