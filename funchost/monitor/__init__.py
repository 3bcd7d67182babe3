"""The web monitor funchost serves at `/_funchost/`: instances, histories, entities and the host, in a browser.

A funchost extra, not part of the app. The page is plain HTML/CSS/JS shipped in `static/`; every value it
shows comes from the public management API (`/runtime/webhooks/durabletask/`) and the host's `/admin/`
and `/metrics` endpoints, under their access rules; `funchost/cross_site.py` guards every state-changing
request it sends.
"""

from ..cross_site import MONITOR_HEADER
from .routes import MONITOR_PATH, MonitoredHost, add_routes

__all__ = ["MONITOR_HEADER", "MONITOR_PATH", "MonitoredHost", "add_routes"]
