"""The checks the Azure Python worker applies when it indexes a function, with its messages.

funchost must never accept an app that Azure would refuse, so every function's Python signature
is compared with its bindings before the host serves anything, exactly as the worker's
`Registry.add_indexed_function` does at startup (azure-functions-runtime 1.3,
`azure_functions_runtime/functions.py`; the azure-functions-worker for older Pythons has the same
checks). The type checks ask the converters of the installed `azure.functions`, which is what the
worker asks too, so they agree with Azure for azure-functions 1.x and 2.x alike.

Worth knowing, because it is what the worker sees rather than what the user wrote: the function
checked is `get_user_function()`. For Durable orchestrators and entities that is the SDK's
`handle(context)` wrapper, so the trigger must be named `context`; for a durable client it is the
SDK's middleware, whose client parameter is annotated `str`.

`tests/azure_fidelity/` indexes the same apps with the real worker library and checks that the
messages are identical.

Apps in the v1 (function.json) model are checked by the v1 worker (azure-functions-runtime-v1 1.2,
`Registry.add_function`): the same rules, some in other words (`_V1_WORDS`), and without the
extension-based checks (SDK-type bindings, HTTP streaming) or the retry policy, which v1 apps
cannot use.
"""

from __future__ import annotations

import collections.abc
import inspect
import sys
import time
import typing
from dataclasses import dataclass
from typing import Any

import azure.functions as func
from azure.functions.decorators.core import BindingDirection, DataType

from .errors import FunctionValidationError

_OUT_DIRECTION = BindingDirection.OUT.value
_INOUT_DIRECTION = BindingDirection.INOUT.value
_UNDEFINED_DATA_TYPE = DataType.UNDEFINED.value
_HTTP_TRIGGER = "httpTrigger"
_HTTP_OUTPUT = "http"
_EXTENSION_BASE = "azurefunctions.extensions.base"
# RpcRetryOptions.RetryStrategy in the host's FunctionRpc.proto.
_RETRY_STRATEGIES = ("exponential_backoff", "fixed_delay")
_INT32_MAX = 2**31 - 1

_GenericAlias: Any = getattr(typing, "_GenericAlias")  # noqa: B009 - private, so hidden from type checkers
_SpecialGenericAlias: Any = getattr(typing, "_SpecialGenericAlias")  # noqa: B009


@dataclass(frozen=True)
class _Words:
    """The phrases that differ between the v2 and the v1 worker's messages."""

    unbound: str
    unused: str
    in_direction: str
    where: str


_V2_WORDS = _Words(
    unbound="the following parameters are declared in Python but not in the function definition "
            "(function.json or function decorators):  ",
    unused="Extra parameters in binding definition — the following parameters are declared as bindings but are "
           "not present in Python: ",
    in_direction="in the binding decorator", where="in the binding decorator")
_V1_WORDS = _Words(
    unbound="the following parameters are declared in Python but not in function.json: ",
    unused="the following parameters are declared in function.json but not in Python: ",
    in_direction="in function.json", where="in function.json")


class _Rejected(Exception):
    """The worker's FunctionLoadError: the detail after "cannot load the X function: "."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def validate_function(script_root: str, function: Any, v1: bool = False) -> None:
    """Raise FunctionValidationError, with the worker's message, if Azure would refuse `function`.

    `function` is an `azure.functions.decorators.function_app.Function` from `get_functions()`.
    Errors the worker reports as FunctionLoadError read "cannot load the NAME function: ...";
    anything else the worker would hit while indexing (an unresolvable string annotation, a
    retry policy it cannot parse) keeps the underlying exception's message, as in Azure.
    `v1`: check as the v1 worker checks a function.json function.
    """
    name = str(function.get_function_name())
    try:
        _check_function(function, v1)
    except _Rejected as exc:
        raise FunctionValidationError(script_root, name, f"cannot load the {name} function: {exc.detail}") from exc
    except Exception as exc:
        raise FunctionValidationError(script_root, name, str(exc)) from exc


def _check_function(function: Any, v1: bool) -> None:
    """`Registry.add_indexed_function` followed by the retry part of `process_indexed_function`
    (v1: `Registry.add_function`)."""
    user = function.get_user_function()
    params = dict(inspect.signature(user).parameters)
    annotations = typing.get_type_hints(user)
    if not v1:
        inspect.getfile(user)  # the worker records the function's directory; a callable object has none
    bound: dict[str, Any] = {}
    explicit_return = False
    # The first `$return` binding decides the return type; before it, the last binding with an
    # implicit output (a durable trigger, say) does.
    return_binding = ""
    for binding in function.get_bindings():
        if binding.direction == _INOUT_DIRECTION:
            raise _Rejected('"inout" bindings are not supported')
        if binding.name == "$return" and binding.direction != _OUT_DIRECTION:
            raise _Rejected('"$return" binding must have direction set to "out"')
        if binding.name == "$return":
            return_binding = return_binding if explicit_return else binding.type
            explicit_return = True
            continue
        bound[binding.name] = binding
        if _has_implicit_output(binding.type) and not explicit_return:
            return_binding = binding.type
    _pop_context(params, bound, annotations)
    _check_params(params, bound, annotations, v1)
    if explicit_return and "return" in annotations:
        _check_return(annotations["return"], return_binding, v1)
    if not v1:
        _check_retry(function.get_settings_dict("retry_policy"))


def _pop_context(params: dict[str, inspect.Parameter], bound: dict[str, Any], annotations: dict[str, Any]) -> None:
    """An unbound `context` parameter receives the invocation context; it must be a Context."""
    if "context" not in params or "context" in bound:
        return
    params.pop("context")
    if "context" in annotations:
        anno = annotations["context"]
        if not isinstance(anno, type) or anno.__name__ != "Context":
            raise _Rejected(f'the "context" parameter is expected to be of type azure.functions.Context, '
                            f'got "{anno!r}"')


def _check_params(params: dict[str, inspect.Parameter], bound: dict[str, Any], annotations: dict[str, Any],
                  v1: bool) -> None:
    words = _V1_WORDS if v1 else _V2_WORDS
    unbound = set(params) - set(bound)
    if unbound:
        settlement = None if v1 else _settlement_client_param(params, bound, annotations)
        if settlement is None:
            raise _Rejected(f"{words.unbound}{unbound!r}")
        params.pop(settlement)
    unused = set(bound) - set(params)
    if unused:
        raise _Rejected(f"{words.unused}{unused!r}")
    for param in params.values():
        _check_param(param.name, bound[param.name], param.name in annotations, annotations.get(param.name), v1)


def _check_param(name: str, binding: Any, has_anno: bool, anno: Any, v1: bool) -> None:
    """One parameter against its binding: direction, `Out[...]`, and the converter's type check."""
    words = _V1_WORDS if v1 else _V2_WORDS
    is_deferred = not v1 and _is_deferred_type(anno)
    is_param_out = has_anno and _is_out(anno)
    is_binding_out = binding.direction == _OUT_DIRECTION
    py_type = anno
    if is_param_out:
        args = _get_args(anno)
        if len(args) != 1:
            raise _Rejected(f"binding {name} has invalid Out annotation {anno!r}")
        py_type = args[0]
    if has_anno and not isinstance(py_type, type) and not _is_generic_type(py_type):
        raise _Rejected(f"binding {name} has invalid non-type annotation {anno!r}")
    if is_binding_out and has_anno and not is_param_out:
        raise _Rejected(f'binding {name} is declared to have the "out" direction, but its annotation in Python '
                        "is not a subclass of azure.functions.Out")
    if not is_binding_out and is_param_out:
        raise _Rejected(f'binding {name} is declared to have the "in" direction {words.in_direction}, but its '
                        "annotation is azure.functions.Out in Python")
    if not has_anno:
        return
    bind_type = "generic" if py_type in (str, bytes) and not _has_implicit_output(binding.type) else binding.type
    if is_param_out:
        matches = _check_output_type(bind_type, py_type, v1)
    else:
        matches = _check_input_type(bind_type, py_type, is_deferred, v1)
    if matches:
        return
    # `is not`, as in the worker: a binding without a dataType (None) takes this branch too.
    if binding.data_type is not _UNDEFINED_DATA_TYPE:
        raise _Rejected(f'binding type "{name!r}" and dataType "{binding.type}" {words.where} do not '
                        f"match the corresponding function parameter's Python type annotation {py_type.__name__}")
    raise _Rejected(f'type of {name} binding {words.where} "{binding.type}" does not match its '
                    f'Python annotation "{py_type.__name__}"')


def _check_return(anno: Any, binding_type: str, v1: bool) -> None:
    """The annotation of a function with a `$return` binding must suit that binding's converter."""
    origin = _get_origin(anno) if _is_generic_type(anno) else None
    if origin is not None and origin.__name__ == "Out":
        raise _Rejected("return annotation should not be azure.functions.Out")
    if not isinstance(anno, type):
        raise _Rejected(f"has invalid non-type return annotation {anno!r}")
    if not _check_output_type(binding_type, anno, v1):
        raise _Rejected(f'Python return annotation "{anno.__name__}" does not match binding type "{binding_type}"')


def _check_retry(retry: dict[str, Any] | None) -> None:
    """What `loader.build_retry_protos` needs of a retry policy; it raises ValueError otherwise."""
    if not retry:
        return
    strategy = retry.get("strategy")
    count = int(retry.get("max_retry_count"))  # type: ignore[arg-type]
    intervals = ("delay_interval",) if strategy == "fixed_delay" else ("minimum_interval", "maximum_interval")
    for key in intervals:
        value = retry.get(key)
        if value or key == "delay_interval":
            time.strptime(value, "%H:%M:%S")  # type: ignore[arg-type]
    # Then protobuf builds RpcRetryOptions, which checks the enum label and the int32 range.
    if strategy is not None and strategy not in _RETRY_STRATEGIES:
        raise ValueError(f'unknown enum label "{strategy}"')
    if not -_INT32_MAX - 1 <= count <= _INT32_MAX:
        raise ValueError(f"Value out of range: {count}")


# The binding registry, as `azure_functions_runtime.bindings.meta` consults it.

def _get_binding(bind_type: str, is_deferred: bool = False) -> Any:
    binding = None if is_deferred else func.get_binding_registry().get(bind_type)
    if binding is None and is_deferred:
        deferred = _deferred_registry()
        if deferred is not None:
            binding = deferred.get(bind_type)
    return binding if binding is not None else _GenericBinding


def _has_implicit_output(bind_type: str) -> bool:
    binding = _get_binding(bind_type)
    if binding is _GenericBinding:
        return _GenericBinding.has_implicit_output(bind_type)
    return bool(getattr(binding, "has_implicit_output", lambda: False)())


def _check_input_type(bind_type: str, py_type: Any, is_deferred: bool, v1: bool = False) -> bool:
    if bind_type == _HTTP_TRIGGER and not v1:
        streaming = _http_v2_extension()
        if streaming is not None:
            return bool(streaming.RequestTrackerMeta.check_type(py_type))
    return bool(_get_binding(bind_type, is_deferred).check_input_type_annotation(py_type))


def _check_output_type(bind_type: str, py_type: Any, v1: bool = False) -> bool:
    if bind_type == _HTTP_OUTPUT and not v1:
        streaming = _http_v2_extension()
        if streaming is not None:
            return bool(streaming.ResponseTrackerMeta.check_type(py_type))
    return bool(_get_binding(bind_type).check_output_type_annotation(py_type))


class _GenericBinding:
    """The worker's fallback for binding types azure.functions has no converter for."""

    @staticmethod
    def check_input_type_annotation(py_type: Any) -> bool:
        return issubclass(py_type, (str, bytes))

    @staticmethod
    def check_output_type_annotation(py_type: Any) -> bool:
        return issubclass(py_type, (str, bytes, bytearray))

    @staticmethod
    def has_implicit_output(bind_type: str) -> bool:
        # Durable clients are the one generic binding without an implicit return value.
        return bind_type != "durableClient"


# SDK-type ("deferred") bindings and HTTP streaming come from azurefunctions-extensions-base.
# The worker only looks for it when the app has imported it, and so does funchost.

def _deferred_registry() -> Any:
    base = sys.modules.get(_EXTENSION_BASE)
    return base.get_binding_registry() if base is not None else None


def _http_v2_extension() -> Any:
    base = sys.modules.get(_EXTENSION_BASE)
    if base is None or not base.HttpV2FeatureChecker.http_v2_enabled():
        return None
    return base


def _is_deferred_type(anno: Any) -> bool:
    deferred = _deferred_registry()
    return deferred is not None and bool(deferred.check_supported_type(anno))


def _settlement_client_param(params: dict[str, inspect.Parameter], bound: dict[str, Any],
                             annotations: dict[str, Any]) -> str | None:
    """A single unbound parameter may be a Service Bus settlement client (deferred bindings only)."""
    unbound = set(params) - set(bound)
    if len(unbound) > 1:
        return None
    param = next(iter(unbound))
    try:
        deferred = _deferred_registry()
        if deferred is not None and deferred.check_supported_grpc_client_type(annotations.get(param)):
            return param
    except Exception:
        return None
    return None


# The worker's vendored `typing_inspect` helpers: stricter than `typing.get_origin`, on purpose.
# `list[int]` and `X | None` are not "generic types" to the worker, so it rejects them as
# annotations; `typing.List[int]` is one.

def _is_generic_type(tp: Any) -> bool:
    if isinstance(tp, type) and issubclass(tp, typing.Generic):  # type: ignore[arg-type]
        return True
    return isinstance(tp, (_GenericAlias, _SpecialGenericAlias)) and tp.__origin__ not in (
        typing.Union, tuple, typing.ClassVar, collections.abc.Callable)


def _get_origin(tp: Any) -> Any:
    if isinstance(tp, _GenericAlias):
        return tp.__origin__ if tp.__origin__ is not typing.ClassVar else None
    if tp is typing.Generic:
        return typing.Generic
    return None


def _get_args(tp: Any) -> tuple[Any, ...]:
    if isinstance(tp, _GenericAlias):
        args: tuple[Any, ...] = tp.__args__
        if _get_origin(tp) is collections.abc.Callable and args[0] is not Ellipsis:
            return (list(args[:-1]), args[-1])
        return args
    return ()


def _is_out(anno: Any) -> bool:
    """Whether a parameter annotation is `func.Out[...]` (by name, as the worker checks)."""
    if _is_generic_type(anno):
        origin = _get_origin(anno)
        if origin is not None:
            return isinstance(origin, type) and origin.__name__ == "Out"
    return isinstance(anno, type) and anno.__name__ == "Out"
