"""What an interactive (protocol v2) item may hold, and the answers of its scripted tools.

`check_item_input` and `check_agent_input` return the problem with one item's input as a sentence
that never quotes the item; `tool_result` is what an item's scripted environment returns for one
tool call. Stdlib only.
"""

from __future__ import annotations

import json
from typing import Any

from sandbox._agent import check_files, split_agent_input
from sandbox._model_http import refuse_constant

MAX_TURNS = 64
MAX_TOOLS = 32
NO_RESULT = "error: this environment has no result for that call"
ROLES = ("system", "user", "assistant")


def check_item_input(value: Any) -> str | None:
    """The problem with one item's input, as a sentence, or None when it is well formed. Besides
    'messages' or 'turns' (and 'system'), an item may list the binary assets its conversation
    speaks of under 'assets' (staged at /input/assets/…; never sent in the requests)."""
    if not isinstance(value, dict) or ("messages" in value) == ("turns" in value):
        return "input must hold either 'messages' or 'turns'"
    allowed = ({"messages"} if "messages" in value else {"turns", "system"}) | {"assets", "tools", "tool_results"}
    extra = sorted(str(key) for key in set(value) - allowed)
    if extra:
        return f"input holds unexpected keys ({', '.join(map(repr, extra[:5]))})"
    assets = value.get("assets", [])
    if not isinstance(assets, list) or not all(isinstance(a, str) and a.startswith("assets/") for a in assets):
        return "assets must be a list of asset paths (strings starting with 'assets/')"
    problem = _check_tools(value)
    if problem:
        return problem
    if "messages" in value:
        return _check_messages(value["messages"])
    return _check_turns(value)


def check_agent_input(value: Any) -> str | None:
    """An agent challenge's item: a conversation ('messages' or 'turns', 'system') as above but
    without 'tools' (the challenge declares them), and 'files' (staged into the environment's
    working directory) and 'score_files' (staged at /arena/hidden only for the score command),
    each {relative path: asset path}."""
    if not isinstance(value, dict):
        return "input must hold either 'messages' or 'turns'"
    if "tools" in value or "tool_results" in value:
        return "an agent challenge's items take no tools or tool_results: the environment answers tool calls"
    rest, _files, _score = split_agent_input(value)
    return (
        check_files(value.get("files"), "files")
        or check_files(value.get("score_files"), "score_files")
        or check_item_input(rest)
    )


def _check_tools(value: dict[str, Any]) -> str | None:
    """'tools' (OpenAI function specs offered to the model) and 'tool_results' (the item's scripted
    environment: what each call, by name and arguments, returns)."""
    if "tool_results" in value and "tools" not in value:
        return "tool_results needs tools beside it"
    tools = value.get("tools", [])
    if not isinstance(tools, list) or len(tools) > MAX_TOOLS or not all(_tool_name(t) for t in tools):
        return (
            f"tools must be a list of at most {MAX_TOOLS} function tools "
            '({"type": "function", "function": {"name": ..., ...}})'
        )
    results = value.get("tool_results", [])
    if not isinstance(results, list) or not all(
        isinstance(r, dict)
        and set(r) == {"name", "arguments", "result"}
        and isinstance(r["name"], str)
        and isinstance(r["arguments"], dict)
        and isinstance(r["result"], str)
        for r in results
    ):
        return 'tool_results must be a list of {"name", "arguments" (an object), "result" (a string)}'
    return None


def _tool_name(tool: Any) -> str | None:
    function = tool.get("function") if isinstance(tool, dict) and tool.get("type") == "function" else None
    name = function.get("name") if isinstance(function, dict) else None
    return name if isinstance(name, str) and name else None


def _check_messages(messages: Any) -> str | None:
    if not isinstance(messages, list) or not messages:
        return "messages must be a non-empty list of {role, content} objects"
    if len(messages) > MAX_TURNS:
        return f"messages must hold at most {MAX_TURNS} messages"
    for number, message in enumerate(messages, 1):
        if not isinstance(message, dict) or set(message) != {"role", "content"}:
            return f"message {number} must be an object with exactly 'role' and 'content'"
        if not isinstance(message["role"], str) or message["role"] not in ROLES:
            return f"message {number} must have role 'system', 'user' or 'assistant'"
        if not isinstance(message["content"], str):
            return f"message {number} must have a string content"
    return None


def _check_turns(value: dict[str, Any]) -> str | None:
    turns = value["turns"]
    if not isinstance(turns, list) or not turns or not all(isinstance(t, str) for t in turns):
        return "turns must be a non-empty list of strings"
    if len(turns) > MAX_TURNS:
        return f"turns must hold at most {MAX_TURNS} turns"
    if not isinstance(value.get("system", ""), str):
        return "system must be a string"
    return None


def tool_result(value: dict[str, Any], call: dict[str, Any]) -> str:
    """What the item's scripted environment returns for one call (by name and arguments)."""
    try:
        arguments = json.loads(call["function"]["arguments"], parse_constant=refuse_constant)
    except (ValueError, RecursionError):
        return "error: the arguments are not JSON"
    for scripted in value.get("tool_results", []):
        if scripted["name"] == call["function"]["name"] and scripted["arguments"] == arguments:
            result: str = scripted["result"]  # a string: _check_tools refused anything else
            return result
    return NO_RESULT
