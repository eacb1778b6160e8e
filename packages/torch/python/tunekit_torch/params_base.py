"""Reading and writing the generated params dataclasses (params.py) from and to node.json's JSON.

Strict: an unknown key, a missing key or a value of another type is an error naming its path,
because params are written by `compile` from the same schema; a mismatch is a bug or a worker
from another tunekit version, never something to paper over with a default.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints


class ParamsError(ValueError):
    """Params that do not match their dataclass."""


_hints: dict[type, dict[str, Any]] = {}


def _hints_of(cls: type) -> dict[str, Any]:
    if cls not in _hints:
        _hints[cls] = get_type_hints(cls, vars(__import__(cls.__module__, fromlist=["_"])))
    return _hints[cls]


def _convert(tp: Any, value: Any, path: str) -> Any:
    origin = get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return _from_dict(tp, value, path)
    if origin in (Union, types.UnionType):
        options = get_args(tp)
        if value is None and type(None) in options:
            return None
        problems = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _convert(option, value, path)
            except ParamsError as e:
                problems.append(str(e))
        raise ParamsError(f"{path}: {value!r} matches none of {tp} ({'; '.join(problems)})")
    if origin is Literal:
        if any(value == v and type(value) is type(v) for v in get_args(tp)):
            return value
        raise ParamsError(f"{path}: expected one of {list(get_args(tp))}, got {value!r}")
    if origin is list:
        if not isinstance(value, list):
            raise ParamsError(f"{path}: expected a list, got {value!r}")
        (item,) = get_args(tp)
        return [_convert(item, v, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ParamsError(f"{path}: expected an object, got {value!r}")
        _, item = get_args(tp)
        return {k: _convert(item, v, f"{path}.{k}") for k, v in value.items()}
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp in (str, bool):
        if isinstance(value, tp):
            return value
    elif tp is type(None):
        if value is None:
            return None
    elif tp is object:
        return value
    raise ParamsError(f"{path}: expected {getattr(tp, '__name__', tp)}, got {value!r}")


def _from_dict(cls: type, value: Any, path: str) -> Any:
    if not isinstance(value, dict):
        raise ParamsError(f"{path}: expected an object, got {value!r}")
    hints = _hints_of(cls)
    fields = {f.metadata["json"]: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise ParamsError(f"{path}: unknown key(s) {unknown} (expected {sorted(fields)})")
    out = {}
    for key, f in fields.items():
        if key not in value:
            if f.default is dataclasses.MISSING:
                raise ParamsError(f"{path}.{key}: missing")
            continue
        out[f.name] = _convert(hints[f.name], value[key], f"{path}.{key}")
    return cls(**out)


def _to_json(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.metadata["json"]: _to_json(getattr(value, f.name)) for f in dataclasses.fields(value) if getattr(value, f.name) is not None}
    if isinstance(value, list):
        return [_to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_json(v) for k, v in value.items()}
    return value


class Params:
    """Base of the generated dataclasses: `from_json` (strict) and `to_json` (the node.json shape)."""

    @classmethod
    def from_json(cls, value: Any, path: str = "params"):
        return _from_dict(cls, value, path)

    def to_json(self) -> dict:
        return _to_json(self)

    def replace(self, **changes):
        """A copy with some attributes changed (tests build variants of one fixture this way)."""
        return dataclasses.replace(self, **changes)


__all__ = ["Params", "ParamsError", "typing"]
