"""funchost: an embedded local host for Azure Functions Python apps with Durable Functions.

It loads the same `function_app.py` that Azure runs, serves its HTTP triggers, runs its
orchestrations, activities and entities with state in SQLite, and exposes the Durable Functions
management API (`/runtime/webhooks/durabletask/...`) in a single Python process.
"""

__version__ = "0.1.0"
