"""Small function apps that Azure's Python worker refuses, or accepts although they look odd.

Each rejected app carries the worker's exact message (azure-functions-runtime 1.3,
`functions.py` / `loader.py`); funchost must refuse it with the same text. The accepted ones
guard against funchost being stricter than Azure.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_EXTENSIONS = "azurefunctions.extensions."
_HEADER = '''"""A one-function app written by the Azure fidelity tests."""
import typing

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

'''


@dataclass(frozen=True)
class App:
    id: str
    body: str
    # The worker's message for the function `f`; None if the worker accepts the app.
    message: str | None = None
    # A module the app imports beyond azure-functions and the Durable SDK (tests skip without it).
    needs: str | None = None

    def write(self, parent: Path) -> Path:
        """Write the app into `parent/<id>/` and return that script root."""
        root = parent / self.id
        root.mkdir(parents=True, exist_ok=True)
        (root / "function_app.py").write_text(_HEADER + self.body.lstrip())
        (root / "host.json").write_text('{"version": "2.0"}\n')
        return root


@contextmanager
def isolated_import() -> Iterator[None]:
    """Load an app as in a fresh process, and forget it afterwards.

    funchost imports each app as `function_app` and puts its root on sys.path; both are undone.
    Binding extensions already imported by other tests are hidden meanwhile: importing the HTTP
    streaming one changes how Azure checks every HTTP function of the process's app.
    """
    path, modules = list(sys.path), dict(sys.modules)
    for name in modules:
        if name.startswith(_EXTENSIONS):
            del sys.modules[name]
    try:
        yield
    finally:
        sys.path[:] = path
        for name in set(sys.modules) - set(modules):
            del sys.modules[name]
        sys.modules.update(modules)


def missing_module(app: App) -> str | None:
    """The module `app` needs that this interpreter cannot import, if any."""
    if app.needs is None:
        return None
    try:
        found = importlib.util.find_spec(app.needs)
    except ImportError:
        found = None
    return None if found else app.needs


_FASTAPI = "azurefunctions.extensions.http.fastapi"
_STREAMING = f"from {_FASTAPI} import JSONResponse, Request, StreamingResponse\n\n"


def _load_error(detail: str) -> str:
    return f"cannot load the f function: {detail}"


REJECTED: tuple[App, ...] = (
    App("extra_python_param", '''
@app.route(route="f")
def f(req: func.HttpRequest, extra: str) -> func.HttpResponse:
    return func.HttpResponse("x")
''', _load_error("the following parameters are declared in Python but not in the function definition "
                 "(function.json or function decorators):  {'extra'}")),
    App("activity_param_misnamed", '''
@app.activity_trigger(input_name="value")
def f(data: int) -> int:
    return data
''', _load_error("the following parameters are declared in Python but not in the function definition "
                 "(function.json or function decorators):  {'data'}")),
    App("client_param_missing", '''
@app.route(route="f")
@app.durable_client_input(client_name="client")
async def f(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("x")
''', _load_error("Extra parameters in binding definition — the following parameters are declared as bindings "
                 "but are not present in Python: {'client'}")),
    App("http_returns_dict", '''
@app.route(route="f")
def f(req: func.HttpRequest) -> dict:
    return {}
''', _load_error('Python return annotation "dict" does not match binding type "http"')),
    App("http_returns_none", '''
@app.route(route="f")
def f(req: func.HttpRequest) -> None:
    return None
''', _load_error('Python return annotation "NoneType" does not match binding type "http"')),
    App("http_returns_builtin_generic", '''
@app.route(route="f")
def f(req: func.HttpRequest) -> dict[str, int]:
    return {}
''', _load_error("has invalid non-type return annotation dict[str, int]")),
    App("http_request_annotated_dict", '''
@app.route(route="f")
def f(req: dict) -> func.HttpResponse:
    return func.HttpResponse("x")
''', _load_error("binding type \"'req'\" and dataType \"httpTrigger\" in the binding decorator do not match the "
                 "corresponding function parameter's Python type annotation dict")),
    App("http_context_not_context", '''
@app.route(route="f")
def f(req: func.HttpRequest, context: str) -> func.HttpResponse:
    return func.HttpResponse("x")
''', _load_error('the "context" parameter is expected to be of type azure.functions.Context, got "<class \'str\'>"')),
    # DFApp wraps orchestrators in `handle(context: func.OrchestrationContext)`: the worker sees a
    # parameter named `context` with no binding of that name.
    App("orchestrator_context_renamed", '''
@app.orchestration_trigger(context_name="ctx")
def f(ctx: df.DurableOrchestrationContext):
    yield ctx.call_activity("a", 1)
''', _load_error('the "context" parameter is expected to be of type azure.functions.Context, got '
                 "\"<class 'azure.functions._durable_functions.OrchestrationContext'>\"")),
    App("entity_context_renamed", '''
@app.entity_trigger(context_name="ctx")
def f(ctx: df.DurableEntityContext) -> None:
    ctx.set_result(1)
''', _load_error("Extra parameters in binding definition — the following parameters are declared as bindings "
                 "but are not present in Python: {'ctx'}")),
    App("activity_optional_annotation", '''
@app.activity_trigger(input_name="value")
def f(value: int | None) -> int:
    return 1
''', _load_error("binding value has invalid non-type annotation int | None")),
    App("output_not_out", '''
@app.route(route="f")
@app.queue_output(arg_name="msg", queue_name="q", connection="AzureWebJobsStorage")
def f(req: func.HttpRequest, msg: str) -> func.HttpResponse:
    return func.HttpResponse("x")
''', _load_error('binding msg is declared to have the "out" direction, but its annotation in Python is not a '
                 "subclass of azure.functions.Out")),
    App("timer_annotated_dict", '''
@app.timer_trigger(schedule="0 */5 * * * *", arg_name="t")
def f(t: dict) -> None:
    pass
''', _load_error("binding type \"'t'\" and dataType \"timerTrigger\" in the binding decorator do not match the "
                 "corresponding function parameter's Python type annotation dict")),
    # Not FunctionLoadErrors: the worker fails on these while indexing, with the bare exception.
    App("unresolvable_annotation", '''
@app.route(route="f")
def f(req: "Missing") -> func.HttpResponse:  # noqa: F821
    return func.HttpResponse("x")
''', "name 'Missing' is not defined"),
    App("http_request_typing_generic", '''
@app.route(route="f")
def f(req: typing.List[str]) -> func.HttpResponse:
    return func.HttpResponse("x")
''', "issubclass() arg 1 must be a class"),
    App("retry_bad_delay", '''
@app.timer_trigger(schedule="0 */5 * * * *", arg_name="t")
@app.retry(strategy="fixed_delay", max_retry_count="3", delay_interval="5s")
def f(t: func.TimerRequest) -> None:
    pass
''', "time data '5s' does not match format '%H:%M:%S'"),
    App("retry_unknown_strategy", '''
@app.timer_trigger(schedule="0 */5 * * * *", arg_name="t")
@app.retry(strategy="linear", max_retry_count="3", delay_interval="00:00:05")
def f(t: func.TimerRequest) -> None:
    pass
''', 'unknown enum label "linear"'),
    # Importing the HTTP streaming extension switches the worker's HTTP checks to its types,
    # for every HTTP function of the app: classic HttpRequest/HttpResponse are then refused.
    App("streaming_app_classic_request", _STREAMING + '''
@app.route(route="f")
def f(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("x")
''', _load_error("binding type \"'req'\" and dataType \"httpTrigger\" in the binding decorator do not match the "
                 "corresponding function parameter's Python type annotation HttpRequest"), needs=_FASTAPI),
    App("streaming_app_classic_response", _STREAMING + '''
@app.route(route="f")
async def f(req: Request) -> func.HttpResponse:
    return func.HttpResponse("x")
''', _load_error('Python return annotation "HttpResponse" does not match binding type "http"'), needs=_FASTAPI),
)

ACCEPTED: tuple[App, ...] = (
    App("http_request_annotated_str", '''
@app.route(route="f")
def f(req: str) -> str:
    return "x"
'''),
    App("output_binding_out", '''
@app.route(route="f")
@app.queue_output(arg_name="msg", queue_name="q", connection="AzureWebJobsStorage")
def f(req: func.HttpRequest, msg: func.Out[str]) -> func.HttpResponse:
    msg.set("x")
    return func.HttpResponse("x")
'''),
    App("activity_typing_generic", '''
@app.activity_trigger(input_name="value")
def f(value: typing.Dict[str, int]) -> typing.Dict[str, int]:
    return value
'''),
    App("client_with_context", '''
@app.route(route="f")
@app.durable_client_input(client_name="client")
async def f(req: func.HttpRequest, client: df.DurableOrchestrationClient, context: func.Context) -> func.HttpResponse:
    return func.HttpResponse(context.invocation_id)
'''),
    App("orchestrator_unannotated", '''
@app.orchestration_trigger(context_name="context")
def f(context):
    yield context.call_activity("a", 1)
'''),
    App("retry_exponential", '''
@app.timer_trigger(schedule="0 */5 * * * *", arg_name="t")
@app.retry(strategy="exponential_backoff", max_retry_count="3", minimum_interval="00:00:01",
           maximum_interval="00:01:00")
def f(t: func.TimerRequest) -> None:
    pass
'''),
    App("streaming_response", _STREAMING + '''
@app.route(route="f")
async def f(req: Request) -> StreamingResponse:
    return StreamingResponse(iter([b"x"]))
''', needs=_FASTAPI),
    App("streaming_with_client", _STREAMING + '''
@app.route(route="f")
@app.durable_client_input(client_name="client")
async def f(req: Request, client: df.DurableOrchestrationClient) -> JSONResponse:
    return JSONResponse({"id": await client.start_new("o")})
''', needs=_FASTAPI),
)
