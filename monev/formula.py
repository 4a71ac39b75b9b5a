"""Computed answers: a tiny, bounded expression language over named numbers (no ``eval``).

A rubric may say that an answer is computed from numbers typed in other rows (Zona Integritas:
the share of staff trained = trained / all staff). Rubric files may come from uploads, so the
language is small and every piece of work is bounded:

* numbers (``100``, ``0.5``), names (``dilatih``), ``+ - * /``, unary minus, parentheses, and the
  functions ``ratio(a, b)`` (= a / b), ``sum(...)``, ``min(...)``, ``max(...)``;
* at most :data:`MAX_CHARS` characters, :data:`MAX_NODES` nodes and :data:`MAX_DEPTH` levels of
  nesting, checked while parsing (the parser never recurses deeper than that);
* evaluation is exact (:class:`fractions.Fraction`) and walks each node once.

:func:`parse` raises :class:`FormulaError` for a formula that is not one; :func:`evaluate` raises
:class:`ZeroDivisionError` (with the divisor's text) or :class:`KeyError` (a missing name).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

MAX_CHARS = 300
MAX_NODES = 60
MAX_DEPTH = 12
FUNCTIONS = ("ratio", "sum", "min", "max")
_TOKEN = re.compile(r"\s*(?:(\d{1,10}(?:\.\d{1,10})?)|([a-z_][a-z0-9_]{0,39})|([-+*/(),]))")


class FormulaError(ValueError):
    """A formula that is not one, or beyond the limits."""


class DivisionByZero(ZeroDivisionError):
    """A division whose divisor is 0; ``divisor`` is the divisor as written in the formula."""

    def __init__(self, divisor: str):
        self.divisor = divisor
        super().__init__(f"{divisor} is 0")


@dataclass(frozen=True)
class Node:
    """One node: ``op`` is ``num``, ``name``, ``neg``, ``+ - * /`` or a function name."""

    op: str
    args: tuple[Node, ...] = ()
    value: Fraction = Fraction(0)
    name: str = ""
    text: str = ""  # the formula text of this node (for messages)


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise FormulaError(f"unexpected {text[pos:].strip()[:10]!r} at character {pos + 1}")
        out.append(next(g for g in m.groups() if g is not None))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str):
        if len(text) > MAX_CHARS:
            raise FormulaError(f"a formula has at most {MAX_CHARS} characters")
        self.tokens = _tokens(text)
        self.pos = 0
        self.nodes = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        tok = self.peek()
        if tok is None:
            raise FormulaError("the formula ends too early")
        if expected is not None and tok != expected:
            raise FormulaError(f"expected {expected!r}, found {tok!r}")
        self.pos += 1
        return tok

    def node(self, op: str, depth: int, **kw: object) -> Node:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise FormulaError(f"a formula has at most {MAX_NODES} parts")
        if depth > MAX_DEPTH:
            raise FormulaError(f"a formula nests at most {MAX_DEPTH} levels")
        return Node(op, **kw)  # type: ignore[arg-type]

    def expr(self, depth: int) -> Node:
        left = self.term(depth)
        while self.peek() in ("+", "-"):
            op = self.take()
            right = self.term(depth)
            left = self.node(op, depth, args=(left, right), text=f"{left.text} {op} {right.text}")
        return left

    def term(self, depth: int) -> Node:
        left = self.unary(depth)
        while self.peek() in ("*", "/"):
            op = self.take()
            right = self.unary(depth)
            left = self.node(op, depth, args=(left, right), text=f"{left.text} {op} {right.text}")
        return left

    def unary(self, depth: int) -> Node:
        if self.peek() == "-":
            self.take()
            inner = self.unary(depth + 1)
            return self.node("neg", depth, args=(inner,), text=f"-{inner.text}")
        return self.atom(depth)

    def atom(self, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise FormulaError(f"a formula nests at most {MAX_DEPTH} levels")
        tok = self.take()
        if tok == "(":
            inner = self.expr(depth + 1)
            self.take(")")
            return Node(inner.op, inner.args, inner.value, inner.name, f"({inner.text})")
        if tok[0].isdigit():
            return self.node("num", depth, value=Fraction(tok), text=tok)
        if tok[0].isalpha() or tok[0] == "_":
            if self.peek() != "(":
                return self.node("name", depth, name=tok, text=tok)
            if tok not in FUNCTIONS:
                raise FormulaError(f"unknown function {tok!r} (known: {', '.join(FUNCTIONS)})")
            self.take("(")
            args = [self.expr(depth + 1)]
            while self.peek() == ",":
                self.take()
                args.append(self.expr(depth + 1))
            self.take(")")
            if tok == "ratio" and len(args) != 2:
                raise FormulaError("ratio takes two numbers: ratio(a, b)")
            text = f"{tok}({', '.join(a.text for a in args)})"
            return self.node(tok, depth, args=tuple(args), text=text)
        raise FormulaError(f"unexpected {tok!r}")


def parse(text: str) -> Node:
    """The formula's tree; :class:`FormulaError` when it is not a formula or beyond the limits."""
    p = _Parser(text)
    if not p.tokens:
        raise FormulaError("the formula is empty")
    tree = p.expr(0)
    if p.peek() is not None:
        raise FormulaError(f"unexpected {p.peek()!r} after the end of the formula")
    return tree


def names(tree: Node) -> set[str]:
    """Every name the formula uses."""
    out: set[str] = set()
    stack = [tree]
    while stack:
        n = stack.pop()
        if n.op == "name":
            out.add(n.name)
        stack.extend(n.args)
    return out


def evaluate(tree: Node, values: Mapping[str, Fraction]) -> Fraction:
    """The exact value of ``tree`` with ``values`` for its names.

    Raises :class:`DivisionByZero` and :class:`KeyError` (a name without a value).
    """
    if tree.op == "num":
        return tree.value
    if tree.op == "name":
        return values[tree.name]
    args = [evaluate(a, values) for a in tree.args]
    if tree.op == "neg":
        return -args[0]
    if tree.op in ("/", "ratio"):
        if args[1] == 0:
            raise DivisionByZero(tree.args[1].text)
        return args[0] / args[1]
    if tree.op == "+":
        return args[0] + args[1]
    if tree.op == "-":
        return args[0] - args[1]
    if tree.op == "*":
        return args[0] * args[1]
    if tree.op == "sum":
        return sum(args, Fraction(0))
    if tree.op == "min":
        return min(args)
    return max(args)
