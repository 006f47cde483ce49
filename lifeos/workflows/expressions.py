"""`${{ ... }}` expressions: parsed and evaluated by Jinja2's sandbox (no `eval`, no attribute
access to Python internals), with the references each one makes, so validation knows which
steps a value reads and what type it has."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, UndefinedError, nodes
from jinja2.parser import Parser
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from lifeos.errors import LifeOSError

EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.S)
WHOLE = re.compile(r"^\s*\$\{\{(.*?)\}\}\s*$", re.S)
NAMES = ("inputs", "steps", "item", "index", "run")


class _Env(SandboxedEnvironment):
    """`a.b` reads the key `b` of a mapping before any attribute (so `output.items` is the
    field, not `dict.items`)."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)


_ENV = _Env(undefined=StrictUndefined, autoescape=False)  # noqa: S701  # nosec B701 - values, not HTML


class ExpressionError(LifeOSError):
    code = "bad_expression"


def parse(source: str) -> nodes.Expr:
    """The expression's syntax tree, or an ExpressionError saying what is wrong."""
    try:
        parser = Parser(_ENV, source, state="variable")
        tree = parser.parse_expression()
        if not parser.stream.eos:
            raise TemplateSyntaxError("unexpected text after the expression", 1)
    except TemplateSyntaxError as exc:
        raise ExpressionError(f"bad expression `{source.strip()}`: {exc.message}") from None
    return tree


def references(tree: nodes.Node) -> Iterator[tuple[str | int, ...]]:
    """Each name path the expression reads: `steps.pick.output.items[0]` → ("steps", "pick",
    "output", "items", 0). Paths stop where a part is not a constant."""
    if isinstance(tree, nodes.Getattr | nodes.Getitem | nodes.Name):
        path = _path(tree)
        if path:
            yield path
            if isinstance(tree, nodes.Getitem) and not isinstance(tree.arg, nodes.Const):
                yield from references(tree.arg)
            return
    for child in tree.iter_child_nodes():
        yield from references(child)


def _path(node: nodes.Node) -> tuple[str | int, ...] | None:
    if isinstance(node, nodes.Name):
        return (node.name,)
    if isinstance(node, nodes.Getattr):
        head = _path(node.node)
        return (*head, node.attr) if head else None
    if isinstance(node, nodes.Getitem):
        head = _path(node.node)
        if head is None:
            return None
        if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str | int):
            return (*head, node.arg.value)
        return head
    return None


def expressions_in(value: Any) -> Iterator[str]:
    """Every expression inside a value (strings in nested dicts and lists)."""
    if isinstance(value, str):
        for match in EXPR.finditer(value):
            yield match.group(1)
    elif isinstance(value, dict):
        for v in value.values():
            yield from expressions_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from expressions_in(v)


def whole(value: Any) -> str | None:
    """The expression when the value is nothing but one (it then keeps its type)."""
    if isinstance(value, str):
        match = WHOLE.match(value)
        if match and "${{" not in match.group(1):
            return match.group(1)
    return None


def evaluate(value: Any, context: dict[str, Any]) -> Any:
    """The value with its expressions evaluated: a value that is one expression becomes its
    result (a list stays a list); expressions inside text are written into it."""
    if isinstance(value, dict):
        return {k: evaluate(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [evaluate(v, context) for v in value]
    if not isinstance(value, str) or "${{" not in value:
        return value
    only = whole(value)
    if only is not None:
        return _run(only, context)
    return EXPR.sub(lambda m: _text(_run(m.group(1), context)), value)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _run(source: str, context: dict[str, Any]) -> Any:
    try:
        result = _ENV.compile_expression(source, undefined_to_none=False)(**context)
        if isinstance(result, Undefined):
            result._fail_with_undefined_error()
        return result
    except TemplateSyntaxError as exc:
        raise ExpressionError(f"bad expression `{source.strip()}`: {exc.message}") from None
    except (UndefinedError, SecurityError, TypeError, ValueError, ZeroDivisionError) as exc:
        raise ExpressionError(f"`{source.strip()}` could not be evaluated: {exc}") from None


def braced(value: str) -> str:
    """An `if:` may leave out the braces: `steps.a.ok` is `${{ steps.a.ok }}`."""
    return value if "${{" in value else "${{ " + value + " }}"


def truthy(value: Any, context: dict[str, Any]) -> bool:
    if isinstance(value, bool) or value is None:
        return bool(value)
    return bool(evaluate(braced(value) if isinstance(value, str) else value, context))


def steps_read(value: Any) -> set[str]:
    """The ids of the steps whose results the expressions in `value` read (`steps.<id>...`);
    an expression that does not parse reads none (validation reports it)."""
    found: set[str] = set()
    for source in expressions_in(value):
        try:
            tree = parse(source)
        except ExpressionError:
            continue
        found.update(str(r[1]) for r in references(tree) if r[0] == "steps" and len(r) > 1)
    return found


# Functions expressions may call besides the names above: Jinja's own (`range`, `dict`, ...).
GLOBALS = frozenset(_ENV.globals)
