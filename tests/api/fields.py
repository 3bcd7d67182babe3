"""The response fields the OpenAPI document declares, named and typed the way docs/api.md lists them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tests.api.spec import METHODS, resolve

EVENT_SCHEMAS = ("DifficultyUpdate", "EventGap", "SessionReset")


def type_name(spec: dict[str, Any], node: dict[str, Any]) -> str:
    """How docs/api.md writes the type of a schema: `number`, `integer or null`, `array of ShapeFocus`, ..."""
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        target = resolve(spec, node)
        return name if _is_structured(target) else type_name(spec, target)
    if "const" in node:
        return {bool: "boolean", str: "string", int: "integer"}[type(node["const"])]
    if "oneOf" in node or "anyOf" in node:
        return " or ".join(type_name(spec, option) for option in node.get("oneOf", node.get("anyOf", [])))
    kinds = node.get("type")
    if kinds is None and "enum" in node:
        kinds = "string"
    if kinds is None:
        return "any"
    names = []
    for kind in kinds if isinstance(kinds, list) else [kinds]:
        if kind == "array":
            names.append(f"array of {type_name(spec, node.get('items', {}))}")
        elif kind == "object" and isinstance(node.get("additionalProperties"), dict):
            names.append(f"map of {type_name(spec, node['additionalProperties'])}")
        else:
            names.append(kind)
    return " or ".join(names)


def _is_structured(node: dict[str, Any]) -> bool:
    return "properties" in node or isinstance(node.get("additionalProperties"), dict)


def response_schemas(spec: dict[str, Any]) -> list[str]:
    """Every named schema a 2xx JSON answer (or a stream event) can contain, in document order."""
    found: list[str] = []

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[-1]
                if name not in found:
                    found.append(name)
                    visit(spec["components"]["schemas"][name])
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    for item in spec["paths"].values():
        for method, operation in item.items():
            if method in METHODS:
                for status, response in operation["responses"].items():
                    if status.startswith("2"):
                        visit(resolve(spec, response).get("content", {}).get("application/json", {}))
    for name in (*EVENT_SCHEMAS, "ErrorDocument"):
        visit({"$ref": f"#/components/schemas/{name}"})
    return [name for name in found if _is_structured(spec["components"]["schemas"][name])]


def fields(spec: dict[str, Any], node: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(dotted field path, type name) of every property, nested inline objects included."""
    for name, prop in node.get("properties", {}).items():
        path = f"{prefix}{name}"
        yield path, type_name(spec, prop)
        if "$ref" not in prop and "properties" in prop:
            yield from fields(spec, prop, f"{path}.")
        items = prop.get("items", {})
        if prop.get("type") == "array" and "$ref" not in items and "properties" in items:
            yield from fields(spec, items, f"{path}[].")
    if isinstance(node.get("additionalProperties"), dict) and not node.get("properties"):
        yield "<key>", type_name(spec, node["additionalProperties"])
