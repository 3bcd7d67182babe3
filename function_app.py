"""The Azure Functions app: creates the app and registers each concern's blueprint."""

import azure.durable_functions as df
import azure.functions as func

from entities.llm_breaker import bp as llm_breaker_bp
from entities.player_session import bp as player_session_bp
from orchestrations.agent_admission import bp as agent_admission_bp
from orchestrations.agent_tasks import bp as agent_tasks_bp
from orchestrations.entity_call import bp as entity_call_bp
from orchestrations.retention import bp as retention_bp
from routes.agents import bp as agents_routes_bp
from routes.openapi import bp as openapi_routes_bp
from routes.player_events import bp as player_events_bp
from routes.players import bp as players_routes_bp
from routes.task_events import bp as task_events_bp

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
for blueprint in (player_session_bp, entity_call_bp, agent_tasks_bp, agent_admission_bp, players_routes_bp,
                  agents_routes_bp, task_events_bp, player_events_bp, openapi_routes_bp, retention_bp, llm_breaker_bp):
    app.register_functions(blueprint)
