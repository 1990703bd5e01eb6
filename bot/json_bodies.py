"""Reading a webhook's JSON body: bounded in how deep it nests, and never raising."""

import json

DEPTH_LIMIT = 64  # objects and arrays inside each other; Meta's and Telegram's go about 8 deep


def read_json(body: bytes) -> object | None:
    """Return the JSON value of `body`; None when it is not JSON or nests deeper than
    DEPTH_LIMIT (thousands deep, the parser itself would give up with a RecursionError)."""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return value if depth_within(value, DEPTH_LIMIT) else None


def depth_within(value: object, limit: int) -> bool:
    """Tell whether a parsed JSON value nests at most `limit` containers deep; walked without
    recursion, so any depth is measured."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return False
        pending.extend((child, depth + 1) for child in children)
    return True
