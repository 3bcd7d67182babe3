"""HTTP routes of the app, one blueprint per concern."""
