"""Seeded fault plan: rules that make chosen batch-read or token requests fail.

A plan is a list of rules, set with `reset(faults=[...], fault_seed=...)`. Each rule is a
mapping with these fields:

- `kind`: what the failing request gets. See FAULT_KINDS and `fault_responses.py`.
- `target`: "batch_read" (default) or "token" (POST /oauth/v1/token). Token requests accept
  only the kinds in TOKEN_KINDS.
- A selector, at most one of `rate` (probability from 0 to 1 that a batch is selected),
  `every` (every Nth batch) and `nth` (a list of 1-based batch numbers). Without a selector,
  every batch is selected.
- `times`: how many consecutive attempts of a selected batch fail, starting with its first
  request, before it is served normally (default 1). null makes every attempt fail.
- Fields of the kind, listed in KIND_FIELDS and described on FaultRule.

A batch is identified by its `archived` parameter, idProperty and input IDs, so a retry with
the same IDs is the same batch and each half of a split batch is a new one. Batches are
numbered in the order their first request arrives. Every rule decides at that first request
whether it selects the batch. The batch's attempts then fail rule by rule, in list order,
`times` attempts per selecting rule, and later attempts are served normally.

`rate` draws from a hash of the seed, the rule's position and the batch's identity, so a seed
selects the same batches in any request order. `every` and `nth` count batches in arrival
order, so with concurrent requests the count of selected batches is fixed but which batches
they are may vary. Token requests are numbered one by one instead: a selected token request
fails together with the `times - 1` token requests after it.

`too_many_inputs` is the exception: it takes no selector and no `times`, and rejects every
request with more than `max_inputs` inputs, as HubSpot rejects every batch over its maximum.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .data import READ_SCOPE
from .http_types import Request

BATCH_TARGET = "batch_read"
TOKEN_TARGET = "token"
RATE_LIMIT_POLICIES = ("TEN_SECONDLY_ROLLING", "DAILY")
HTML_STATUSES = frozenset({502, 521, 522, 523, 524})
MAX_HANG_SECONDS = 300
KIND_FIELDS: dict[str, frozenset[str]] = {
    "status": frozenset({"status", "retry_after", "body"}),
    "rate_limit": frozenset({"policy", "retry_after"}),
    "drop": frozenset(),
    "hang": frozenset({"seconds"}),
    "truncate": frozenset(),
    "not_json": frozenset(),
    "too_many_inputs": frozenset({"max_inputs"}),
    "not_found_404": frozenset({"with_ids"}),
    "uri_too_long": frozenset(),
    "unauthorized": frozenset({"category"}),
    "forbidden": frozenset({"scopes", "scope_field"}),
}
FAULT_KINDS = frozenset(KIND_FIELDS)
TOKEN_KINDS = frozenset({"status", "rate_limit", "drop", "hang", "truncate", "not_json"})
SELECTOR_FIELDS = ("rate", "every", "nth")
COMMON_FIELDS = frozenset({"kind", "target", "times", *SELECTOR_FIELDS})
UNAUTHORIZED_CATEGORIES = ("INVALID_AUTHENTICATION", "EXPIRED_AUTHENTICATION")
SCOPE_FIELDS = ("requiredGranularScopes", "missingScopes")


@dataclass(frozen=True)
class FaultRule:
    """One validated rule of a fault plan. Fields that do not apply to `kind` keep defaults.

    status: HTTP statuses of a `status` fault. With more than one, each attempt draws one
        from the seed.
    retry_after: Retry-After header value in whole seconds, or None to send no header.
    body: "json" or "html" body of a `status` fault. None picks HTML for 502 and 521 to 524,
        which proxies send, and HubSpot's JSON error otherwise.
    policy: policyName of a `rate_limit` fault, or None to leave the field out.
    seconds: how long a `hang` fault waits before it closes the connection unanswered.
    max_inputs: largest batch that a `too_many_inputs` fault lets through.
    with_ids: whether a `not_found_404` body names the batch's IDs in context.ids.
    category: category of an `unauthorized` fault.
    scopes, scope_field: the scopes a `forbidden` fault names, in errors[0].context
        .requiredGranularScopes or in context.missingScopes.
    """

    kind: str
    target: str = BATCH_TARGET
    rate: float | None = None
    every: int | None = None
    nth: tuple[int, ...] | None = None
    times: int | None = 1
    status: tuple[int, ...] = ()
    retry_after: int | None = None
    body: str | None = None
    policy: str | None = "TEN_SECONDLY_ROLLING"
    seconds: float = 5
    max_inputs: int = 100
    with_ids: bool = True
    category: str = "INVALID_AUTHENTICATION"
    scopes: tuple[str, ...] = (READ_SCOPE,)
    scope_field: str = "requiredGranularScopes"

    def body_format(self, status: int) -> str:
        """Return "html" or "json" for the body of a `status` fault that sends HTTP `status`."""
        if self.body is not None:
            return self.body
        return "html" if status in HTML_STATUSES else "json"


def parse_fault_rules(raw_rules: Any) -> tuple[FaultRule, ...]:
    """Validate a list of rule mappings (or FaultRule values) and return them as FaultRules.

    Raise TypeError or ValueError naming the rule's position and the field.
    """
    if isinstance(raw_rules, str | bytes | Mapping) or not isinstance(raw_rules, Sequence):
        raise TypeError(f"faults must be a list of rules, got {raw_rules!r}")
    return tuple(
        rule if isinstance(rule, FaultRule) else parse_fault_rule(position, rule)
        for position, rule in enumerate(raw_rules)
    )


def parse_fault_rule(position: int, raw: Any) -> FaultRule:
    """Validate one rule mapping and return it as a FaultRule."""
    where = f"faults[{position}]"
    if not isinstance(raw, Mapping):
        raise TypeError(f"{where} must be a mapping of rule fields, got {raw!r}")
    kind = raw.get("kind")
    if kind not in FAULT_KINDS:
        raise ValueError(f"{where}.kind must be one of {sorted(FAULT_KINDS)}, got {kind!r}")
    unknown = sorted(set(raw) - COMMON_FIELDS - KIND_FIELDS[kind])
    if unknown:
        allowed = sorted(COMMON_FIELDS | KIND_FIELDS[kind])
        raise ValueError(
            f"{where} has fields {unknown} that kind {kind!r} does not take: {allowed}"
        )
    values: dict[str, Any] = {"kind": kind}
    values.update(_parse_target(where, kind, raw))
    values.update(_parse_selection(where, kind, raw))
    values.update(_parse_kind_fields(where, kind, raw))
    return FaultRule(**values)


def _parse_target(where: str, kind: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    target = raw.get("target", BATCH_TARGET)
    if target not in (BATCH_TARGET, TOKEN_TARGET):
        raise ValueError(f"{where}.target must be {BATCH_TARGET!r} or {TOKEN_TARGET!r}")
    if target == TOKEN_TARGET and kind not in TOKEN_KINDS:
        raise ValueError(f"{where}: token requests take only the kinds {sorted(TOKEN_KINDS)}")
    return {"target": target}


def _parse_selection(where: str, kind: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    given = [name for name in SELECTOR_FIELDS if name in raw]
    if kind == "too_many_inputs" and (given or "times" in raw):
        raise ValueError(f"{where}: too_many_inputs takes no selector and no times")
    if len(given) > 1:
        raise ValueError(f"{where} has selectors {given}; use at most one of rate, every, nth")
    values: dict[str, Any] = {}
    if "rate" in raw:
        values["rate"] = _number(where, "rate", raw["rate"], minimum=0, maximum=1)
    if "every" in raw:
        values["every"] = _integer(where, "every", raw["every"], minimum=1)
    if "nth" in raw:
        values["nth"] = _integer_list(where, "nth", raw["nth"], minimum=1)
    if "times" in raw and raw["times"] is not None:
        values["times"] = _integer(where, "times", raw["times"], minimum=1)
    elif "times" in raw:
        values["times"] = None
    return values


def _parse_kind_fields(where: str, kind: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if kind == "status":
        if "status" not in raw:
            raise ValueError(f"{where}: kind 'status' needs a status, such as 503 or [500, 503]")
        statuses = raw["status"] if isinstance(raw["status"], list) else [raw["status"]]
        values["status"] = _integer_list(where, "status", statuses, minimum=400, maximum=599)
        values["body"] = _choice(where, "body", raw.get("body"), ("json", "html", None))
    if raw.get("retry_after") is not None:
        values["retry_after"] = _integer(where, "retry_after", raw["retry_after"], minimum=0)
    if "policy" in raw:
        values["policy"] = _choice(where, "policy", raw["policy"], (*RATE_LIMIT_POLICIES, None))
    if "seconds" in raw:
        values["seconds"] = _number(where, "seconds", raw["seconds"], 0, MAX_HANG_SECONDS)
    if "max_inputs" in raw:
        values["max_inputs"] = _integer(where, "max_inputs", raw["max_inputs"], minimum=1)
    if "with_ids" in raw:
        values["with_ids"] = _boolean(where, "with_ids", raw["with_ids"])
    if "category" in raw:
        values["category"] = _choice(where, "category", raw["category"], UNAUTHORIZED_CATEGORIES)
    if "scopes" in raw:
        values["scopes"] = _string_list(where, "scopes", raw["scopes"])
    if "scope_field" in raw:
        values["scope_field"] = _choice(where, "scope_field", raw["scope_field"], SCOPE_FIELDS)
    return values


def _number(where: str, name: str, value: Any, minimum: float, maximum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{where}.{name} must be a number, got {value!r}")
    if not minimum <= value <= maximum:
        raise ValueError(f"{where}.{name} must be from {minimum} to {maximum}, got {value!r}")
    return value


def _integer(where: str, name: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{where}.{name} must be an integer, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum}"
        raise ValueError(f"{where}.{name} must be {bounds}, got {value!r}")
    return value


def _integer_list(
    where: str, name: str, value: Any, minimum: int, maximum: int | None = None
) -> tuple[int, ...]:
    if not isinstance(value, list | tuple) or not value:
        raise TypeError(f"{where}.{name} must be a non-empty list of integers, got {value!r}")
    return tuple(_integer(where, name, item, minimum, maximum) for item in value)


def _string_list(where: str, name: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(i, str) for i in value):
        raise TypeError(f"{where}.{name} must be a list of strings, got {value!r}")
    return tuple(value)


def _boolean(where: str, name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{where}.{name} must be true or false, got {value!r}")
    return value


def _choice(where: str, name: str, value: Any, choices: Sequence[Any]) -> Any:
    if value not in choices:
        raise ValueError(f"{where}.{name} must be one of {list(choices)}, got {value!r}")
    return value


@dataclass(frozen=True)
class BatchKey:
    """What identifies a batch read for the fault plan."""

    archived: str
    id_property: str | None
    ids: tuple[str, ...]


def batch_key(request: Request) -> BatchKey | None:
    """Return the batch a batch-read request reads, or None when its body is not a batch read.

    Requests without a key get no fault, so the endpoint rejects them with its 400.
    """
    try:
        body = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list):
        return None
    ids = tuple(
        str(item["id"]) if isinstance(item, dict) and "id" in item else json.dumps(item)
        for item in inputs
    )
    id_property = body.get("idProperty")
    return BatchKey(
        archived=(request.query_value("archived") or "false").lower(),
        id_property=id_property if isinstance(id_property, str) and id_property else None,
        ids=ids,
    )


@dataclass(frozen=True)
class FaultHit:
    """The rule that fails one request: the rule, its position, the batch and a seeded draw.

    `draw` is in [0, 1) and differs per attempt, for choices inside the rule.
    """

    position: int
    rule: FaultRule
    ids: tuple[str, ...]
    draw: float


@dataclass
class _BatchProgress:
    """How many more attempts each rule fails for one batch (None: every attempt)."""

    remaining: list[int | None]
    attempts: int = 0


@dataclass
class FaultPlan:
    """Rules, seed and their progress through the requests. Callers hold the state's lock."""

    rules: tuple[FaultRule, ...]
    seed: int
    _batches: dict[BatchKey, _BatchProgress] = field(default_factory=dict)
    _token_requests: int = 0
    _token_remaining: dict[int, int | None] = field(default_factory=dict)

    def next_batch_fault(self, key: BatchKey) -> FaultHit | None:
        """Count one request for the batch and return the rule that fails it, if any."""
        progress = self._batches.get(key)
        if progress is None:
            progress = self._select_batch(key)
            self._batches[key] = progress
        progress.attempts += 1
        draw = self._draw("draw", key, progress.attempts)
        for position, rule in enumerate(self.rules):
            if rule.target != BATCH_TARGET:
                continue
            if rule.kind == "too_many_inputs":
                if len(key.ids) > rule.max_inputs:
                    return FaultHit(position, rule, key.ids, draw)
                continue
            remaining = progress.remaining[position]
            if remaining == 0:
                continue
            if remaining is not None:
                progress.remaining[position] = remaining - 1
            return FaultHit(position, rule, key.ids, draw)
        return None

    def next_token_fault(self) -> FaultHit | None:
        """Count one token request and return the rule that fails it, if any."""
        self._token_requests += 1
        number = self._token_requests
        for position, rule in enumerate(self.rules):
            if rule.target != TOKEN_TARGET:
                continue
            remaining = self._token_remaining.get(position, 0)
            if remaining == 0 and self._selects(position, rule, number, ("token", number)):
                remaining = rule.times
            if remaining == 0:
                continue
            self._token_remaining[position] = None if remaining is None else remaining - 1
            return FaultHit(position, rule, (), self._draw("draw", "token", number))
        return None

    def _select_batch(self, key: BatchKey) -> _BatchProgress:
        number = len(self._batches) + 1
        remaining: list[int | None] = []
        for position, rule in enumerate(self.rules):
            selected = rule.target == BATCH_TARGET and self._selects(position, rule, number, key)
            remaining.append(rule.times if selected else 0)
        return _BatchProgress(remaining)

    def _selects(self, position: int, rule: FaultRule, number: int, identity: Any) -> bool:
        if rule.rate is not None:
            return self._draw(position, identity) < rule.rate
        if rule.every is not None:
            return number % rule.every == 0
        if rule.nth is not None:
            return number in rule.nth
        return True

    def _draw(self, *parts: Any) -> float:
        """Return a number in [0, 1) determined by the seed and `parts`."""
        text = json.dumps([self.seed, *parts], default=repr)
        digest = hashlib.sha256(text.encode("utf-8")).digest()
        return int.from_bytes(digest[:8], "big") / 2**64
