"""The checks the Azure Python worker applies when it indexes a function, with its messages.

funchost must never accept an app that Azure would refuse, so each function's Python signature
is compared with its bindings before the host serves anything.
"""

from __future__ import annotations

import inspect
import json
import typing
from typing import Any

import azure.functions as func

from .errors import FunctionValidationError

# Parameters the worker fills in itself, without a binding.
_IMPLICIT = {"context"}


def validate_function(script_root: str, function: Any) -> None:
    name = function.get_function_name()
    user = function.get_user_function()
    target = getattr(user, "client_function", None) or user
    bindings = [json.loads(b) for b in function.get_raw_bindings()]
    binding_names = {b["name"] for b in bindings if b["name"] != "$return"}
    try:
        params = inspect.signature(target).parameters
    except (TypeError, ValueError) as exc:
        raise FunctionValidationError(script_root, name, _msg(name, f"cannot read its signature: {exc}")) from exc
    param_names = {p for p in params if p not in _IMPLICIT or p in binding_names}
    extra = sorted(param_names - binding_names)
    if extra:
        raise FunctionValidationError(script_root, name, _msg(
            name, "the following parameters are declared in Python but not in function.json: "
                  + repr(set(extra))))
    missing = sorted(binding_names - set(params))
    if missing:
        raise FunctionValidationError(script_root, name, _msg(
            name, "the following parameters are declared in function.json but not in Python: "
                  + repr(set(missing))))
    has_return = any(b["name"] == "$return" for b in bindings)
    annotation = _return_annotation(target)
    http_trigger = any(b["type"] == "httpTrigger" for b in bindings)
    if http_trigger and has_return and annotation not in (inspect.Signature.empty, None):
        allowed = (func.HttpResponse, str)
        if not (isinstance(annotation, type) and issubclass(annotation, allowed)):
            raise FunctionValidationError(script_root, name, _msg(
                name, f'Python return annotation "{getattr(annotation, "__name__", annotation)}" does not match '
                      'binding type "http"'))


def _return_annotation(target: Any) -> Any:
    try:
        hints = typing.get_type_hints(target)
    except Exception:
        hints = {}
    if "return" in hints:
        return hints["return"]
    return inspect.signature(target).return_annotation


def _msg(name: str, detail: str) -> str:
    return f"cannot load the {name} function: {detail}"
