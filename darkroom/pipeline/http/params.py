"""Reading client input: the JSON body and query string, each field checked for type, length
and range; anything wrong is a 400 with ``missing_field``, ``invalid_field`` or
``invalid_query``, never a 500."""

from __future__ import annotations

import math
from typing import Optional, Sequence

from flask import request

from darkroom.pipeline.errors import PipelineError
from darkroom.web.errors import json_body, json_value

# Ids are INTEGER columns (32-bit on PostgreSQL): the largest id there can be.
MAX_ID = 2**31 - 1
MAX_LIST = 1000
MAX_REASON = 1000
PRIORITY = (1, 10)


def body(optional: bool = False) -> dict:
    """The JSON object body; with ``optional`` an empty body (or a Lua ``[]``) is ``{}``."""
    if optional and not request.get_data(cache=True):
        return {}
    if optional and request.is_json and json_value() == []:
        return {}
    return json_body()


def _missing(key: str) -> PipelineError:
    return PipelineError(400, "missing_field", f"'{key}' is required")


def integer(data: dict, key: str, *, required: bool = False, default: Optional[int] = None,
            lo: Optional[int] = None, hi: Optional[int] = None) -> Optional[int]:
    value = data.get(key)
    if value is None:
        if required:
            raise _missing(key)
        return default
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise PipelineError(400, "invalid_field", f"'{key}' must be an integer")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise PipelineError(400, "invalid_field", f"'{key}' must be between {lo} and {hi}")
    return value


def identifier(data: dict, key: str, *, required: bool = False) -> Optional[int]:
    """A photo, session or job id."""
    return integer(data, key, required=required, lo=0, hi=MAX_ID)


def priority(data: dict, default: Optional[int] = None, required: bool = False) -> Optional[int]:
    return integer(data, "priority", required=required, default=default, lo=PRIORITY[0],
                   hi=PRIORITY[1])


def string(data: dict, key: str, *, required: bool = False, default: Optional[str] = None,
           max_length: int = 4096) -> Optional[str]:
    value = data.get(key)
    if value is None:
        if required:
            raise _missing(key)
        return default
    if not isinstance(value, str):
        raise PipelineError(400, "invalid_field", f"'{key}' must be a string")
    if len(value) > max_length or "\x00" in value:
        raise PipelineError(400, "invalid_field", f"'{key}' must be at most {max_length} characters")
    return value


def boolean(data: dict, key: str, default: bool = False) -> bool:
    value = data.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise PipelineError(400, "invalid_field", f"'{key}' must be true or false")
    return value


def id_list(data: dict, key: str) -> Optional[list[int]]:
    """A list of distinct ids, in the order given (None when absent or empty)."""
    value = data.get(key)
    if value is None or value == []:
        return None
    if not isinstance(value, list) or len(value) > MAX_LIST or not all(
            isinstance(i, int) and not isinstance(i, bool) and 0 <= i <= MAX_ID for i in value):
        raise PipelineError(400, "invalid_field",
                            f"'{key}' must be a list of at most {MAX_LIST} photo ids")
    return list(dict.fromkeys(value))


def query_int(key: str, lo: int = 0, hi: int = MAX_ID) -> Optional[int]:
    raw = request.args.get(key)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise PipelineError(400, "invalid_query", f"'{key}' must be an integer") from None
    if not lo <= value <= hi:
        raise PipelineError(400, "invalid_query", f"'{key}' must be between {lo} and {hi}")
    return value


def query_limit(default: int = 500) -> int:
    return query_int("limit", 1, MAX_LIST) or default


def query_choice(key: str, choices: Sequence[str], code: str = "invalid_query") -> Optional[str]:
    raw = request.args.get(key)
    if raw is None or raw == "":
        return None
    if raw not in choices:
        raise PipelineError(400, code, f"'{key}' must be one of: {', '.join(choices)}")
    return raw


def query_string(key: str) -> Optional[str]:
    """A query parameter as given (None when absent or empty)."""
    return request.args.get(key) or None
