"""Errors of the host: a small hierarchy with structured fields and readable messages."""

from __future__ import annotations


class FunchostError(Exception):
    """Base class of every error the host raises on purpose."""


class AppLoadError(FunchostError):
    """The function app could not be imported or indexed."""

    def __init__(self, script_root: str, reason: str) -> None:
        super().__init__(f"cannot load the function app in {script_root}: {reason}")
        self.script_root = script_root
        self.reason = reason


class FunctionValidationError(AppLoadError):
    """A function would be refused by the Azure Python worker (same message as the worker)."""

    def __init__(self, script_root: str, function_name: str, message: str) -> None:
        super().__init__(script_root, message)
        self.function_name = function_name
        self.message = message


class InvalidIdError(FunchostError):
    """An instance id, entity name or entity key breaks the documented rules."""

    def __init__(self, kind: str, value: str, rule: str) -> None:
        super().__init__(f"invalid {kind} {value[:80]!r}: {rule}")
        self.kind = kind
        self.value = value
        self.rule = rule


class InstanceNotFound(FunchostError):
    def __init__(self, instance_id: str) -> None:
        super().__init__(f"no orchestration instance with id {instance_id!r}")
        self.instance_id = instance_id


class InstanceAlreadyExists(FunchostError):
    def __init__(self, instance_id: str, status: str) -> None:
        super().__init__(
            f"an orchestration instance with id {instance_id!r} already exists and is {status}"
        )
        self.instance_id = instance_id
        self.status = status


def finished_message(instance_id: str, status: str, consequence: str | None = None) -> str:
    """Why an operation cannot apply to an instance that is `status`; `consequence` says what it rules out."""
    if consequence is None:
        return f"orchestration instance {instance_id!r} is already {status}"
    return f"instance {instance_id!r} is {status}: {consequence}"


class InstanceFinished(FunchostError):
    """The operation needs a running (or, for rewind, a failed) instance (HTTP 410 Gone)."""

    def __init__(self, instance_id: str, status: str, consequence: str | None = None) -> None:
        super().__init__(finished_message(instance_id, status, consequence))
        self.instance_id = instance_id
        self.status = status
        self.consequence = consequence


class NoInstancesMatched(FunchostError):
    """A purge by filter found nothing to delete (HTTP 404, as the extension answers)."""

    def __init__(self) -> None:
        super().__init__("no instances matched the purge filter")


class EntityNotFound(FunchostError):
    """An entity read of an entity that has no state (HTTP 404)."""

    def __init__(self, entity_id: str) -> None:
        super().__init__("entity does not exist")
        self.entity_id = entity_id


class BadRequest(FunchostError):
    """A request the host cannot act on as sent (a malformed parameter or body); the message names the part."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotServed(FunchostError):
    """A path exists but not with this method or operation (HTTP 404, as the extension's HttpApiHandler)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotSupported(FunchostError):
    """A documented Durable operation that funchost deliberately does not implement (HTTP 501)."""

    def __init__(self, operation: str) -> None:
        super().__init__(f"{operation} is not supported by funchost")
        self.operation = operation


def not_a_function_message(kind: str, name: str) -> str:
    """The extension's message for a call to a function that is not a registered `kind` function."""
    return f"The function '{name}' doesn't exist, is disabled, or is not an {kind} function."


class UnknownFunction(FunchostError):
    def __init__(self, kind: str, name: str) -> None:
        super().__init__(not_a_function_message(kind, name))
        self.kind = kind
        self.name = name


class EntityOperationError(FunchostError):
    """An entity operation called in-process raised; the message is the operation's error."""

    def __init__(self, entity_id: str, operation: str, message: str) -> None:
        super().__init__(message)
        self.entity_id = entity_id
        self.operation = operation


class NoDispatcher(FunchostError):
    """A host extra was used outside a running funchost (no dispatcher in this process)."""

    def __init__(self) -> None:
        super().__init__("no funchost dispatcher in this process")


class HostShuttingDown(FunchostError):
    """Raised into waiters that were still waiting when the host stopped."""

    def __init__(self) -> None:
        super().__init__("the host is shutting down")


class DataFolderInUse(FunchostError):
    """Another host holds the data folder's lock: two hosts must never share a store."""

    def __init__(self, folder: str, pid: int | None = None, port: int | None = None) -> None:
        owner = ""
        if pid is not None:
            owner = f" (pid {pid}" + (f", port {port}" if port is not None else "") + ")"
        super().__init__(f"the data folder {folder} is in use by another funchost{owner}; "
                         "stop that host or pass another --data folder")
        self.folder = folder
        self.pid = pid
        self.port = port


class StoreOpenError(FunchostError):
    """The store cannot be opened as this host needs it (schema, permissions, corruption)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"cannot open the store {path}: {reason}")
        self.path = path
        self.reason = reason


class SettingsError(FunchostError):
    """A settings file (local.settings.json, host.json) cannot be used; the message names it."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class UnsafeBindError(FunchostError):
    """A bind that would open the host to the network without any key."""

    def __init__(self, host: str) -> None:
        super().__init__(f"--host {host} accepts connections from other machines, and no key is configured: "
                         "anyone on the network could read and change every player and task. Set "
                         "FUNCHOST_ADMIN_KEY (and FUNCHOST_FUNCTION_KEYS), or pass --allow-unauthenticated")
        self.host = host


class StoreUnavailable(FunchostError):
    """The store refused a write (locked by another process, disk full, read-only): retry shortly.

    Nothing of the refused write was kept; callers answer 503 with Retry-After `retry_after_s`.
    """

    retry_after_s = 2

    def __init__(self, reason: str) -> None:
        super().__init__(f"the store is not accepting writes right now ({reason}); nothing was changed, "
                         f"retry in {self.retry_after_s} s")
        self.reason = reason
