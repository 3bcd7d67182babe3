"""The app as an older, keyed deployment: function-level keys, and no task events route (status only).

The same blueprints as the project's function_app.py except `routes.task_events`, so the client's
fallback to the status route and its `--key` run against the real routes and orchestrations.
"""

import azure.durable_functions as df
import azure.functions as func

from entities.player_session import bp as player_session_bp
from orchestrations.agent_admission import bp as agent_admission_bp
from orchestrations.agent_tasks import bp as agent_tasks_bp
from orchestrations.entity_call import bp as entity_call_bp
from routes.agents import bp as agents_routes_bp
from routes.players import bp as players_routes_bp

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
for blueprint in (player_session_bp, entity_call_bp, agent_tasks_bp, agent_admission_bp, players_routes_bp,
                  agents_routes_bp):
    app.register_functions(blueprint)
