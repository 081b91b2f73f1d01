"""Validate a configuration before any request, with one clear message per wrong field.

jsonschema's own messages name neither the field nor the fix, and they quote the offending
value, which may be a secret. These messages name the field, say what is expected, and quote a
value only for fields that cannot hold a secret.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from airbyte_cdk.models import FailureType
from airbyte_cdk.utils.traced_exception import AirbyteTracedException
from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError

from source_partner_clients.batching import normalize_partner_client_ids

DEFAULT_API_BASE_URL = "https://api.hubapi.com"
LOOPBACK_HOSTNAMES = {"localhost"}
# Fields whose values may be quoted in messages: none of them can hold a secret.
QUOTABLE_FIELDS = {
    "batch_size",
    "api_base_url",
    "archived",
    "id_property",
    "max_rate_limit_wait_seconds",
    "fail_on_batch_errors",
    "num_workers",
    "max_requests_per_10_seconds",
}
# Keywords of the spec that describe a field without constraining its value.
ANNOTATION_KEYWORDS = {"title", "description", "order", "examples", "default"}
# The only rules that the spec sets for partner_client_ids, which _short_id_list relies on.
ID_LIST_RULES = {"type": "array", "minItems": 1, "items": {"type": "string"}}
TYPE_NAMES = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
}


def validate_config(config: Mapping[str, Any], spec_schema: Mapping[str, Any]) -> None:
    """Raise a config error that lists every problem found in config, or return."""
    problems = list(config_problems(config, spec_schema))
    if problems:
        message = "Invalid configuration: " + " ".join(problems)
        raise AirbyteTracedException(
            message=message, internal_message=message, failure_type=FailureType.config_error
        )


def config_problems(config: Mapping[str, Any], spec_schema: Mapping[str, Any]) -> Iterator[str]:
    """Yield one sentence per problem: schema violations first, then the rules it cannot state."""
    errors = Draft7Validator(spec_schema).iter_errors(_short_id_list(config, spec_schema))
    schema_problems = [_describe(error, config) for error in sorted(errors, key=_error_order)]
    seen: set[str] = set()
    for problem in schema_problems:
        if problem and problem not in seen:
            seen.add(problem)
            yield problem
    if not any(p.startswith("partner_client_ids") for p in seen):
        yield from _id_problems(config.get("partner_client_ids"))
    if not any(p.startswith("api_base_url") for p in seen):
        yield from _url_problems(config.get("api_base_url") or DEFAULT_API_BASE_URL)


def _short_id_list(config: Mapping[str, Any], spec_schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """Return config with partner_client_ids cut to its first ID when every ID is text.

    While the spec's only rules for the list are a length of at least one and text items, the
    first ID represents all of them. jsonschema took 0.5 s to check 100,000 IDs one by one.
    """
    ids = config.get("partner_client_ids")
    list_schema = (spec_schema.get("properties") or {}).get("partner_client_ids") or {}
    rules = {key: value for key, value in list_schema.items() if key not in ANNOTATION_KEYWORDS}
    if (
        rules == ID_LIST_RULES
        and isinstance(ids, list)
        and len(ids) > 1
        and all(type(item) is str for item in ids)
    ):
        return {**config, "partner_client_ids": ids[:1]}
    return config


def _error_order(error: ValidationError) -> tuple[str, ...]:
    return tuple(str(part) for part in error.absolute_path)


def _field_name(path: Sequence[Any]) -> str:
    name = ""
    for part in path:
        if isinstance(part, int):
            name += f"[{part}]"
        elif name:
            name += f".{part}"
        else:
            name = str(part)
    return name or "the configuration"


def _describe(error: ValidationError, config: Mapping[str, Any]) -> str | None:
    path = list(error.absolute_path)
    field = _field_name(path)
    if path[:1] == ["credentials"] and error.validator in {"oneOf", "const", "required"}:
        return _credentials_problem(config.get("credentials"))
    if path[:1] == ["partner_client_ids"] and len(path) == 2 and _is_integer(error.instance):
        return None
    quotable = path[:1] and path[0] in QUOTABLE_FIELDS and len(path) == 1
    got = f" (got {error.instance!r})" if quotable else ""
    match error.validator:
        case "required":
            missing = [name for name in error.validator_value if name not in (error.instance or {})]
            return f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing."
        case "type":
            expected = error.validator_value
            names = [
                TYPE_NAMES.get(t, t)
                for t in (expected if isinstance(expected, list) else [expected])
            ]
            return f"{field} must be {' or '.join(names)}{got}."
        case "minimum":
            return f"{field} must be at least {error.validator_value}{got}."
        case "maximum":
            return f"{field} must be at most {error.validator_value}{got}."
        case "minItems" if path == ["partner_client_ids"]:
            return "partner_client_ids must contain at least one partner client ID."
        case "pattern" if path == ["api_base_url"]:
            return f"api_base_url must start with https://{got}."
    return f"{field} is invalid: {error.validator} {error.validator_value!r}."


def _credentials_problem(credentials: Any) -> str:
    titles = ("Private App Credentials", "OAuth Credentials")
    if not isinstance(credentials, Mapping):
        return "credentials must be an object with credentials_title and its fields."
    title = credentials.get("credentials_title")
    if title not in titles:
        return (
            f"credentials.credentials_title must be '{titles[0]}' or '{titles[1]}'"
            f"{f' (got {title!r})' if isinstance(title, str) else ''}."
        )
    required = (
        ("access_token",) if title == titles[0] else ("client_id", "client_secret", "refresh_token")
    )
    missing = [name for name in required if not isinstance(credentials.get(name), str)]
    if missing:
        return f"{title} need {', '.join(required)}; missing or not text: {', '.join(missing)}."
    return f"credentials do not match the fields of {title}."


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _id_problems(raw_ids: Any) -> Iterator[str]:
    if not isinstance(raw_ids, list):
        return
    try:
        normalized = normalize_partner_client_ids(raw_ids)
    except ValueError as error:
        yield f"{error} Enter each partner client ID as text."
        return
    if not normalized.ids:
        yield "partner_client_ids contains only blank entries: enter at least one ID."


def _url_problems(api_base_url: Any) -> Iterator[str]:
    if not isinstance(api_base_url, str):
        return
    parts = urlsplit(api_base_url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and _is_loopback(parts.hostname):
        return
    # The URL is quoted without any user name or password it carries.
    url_without_user = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
    if not parts.hostname:
        yield f"api_base_url {url_without_user!r} has no host name."
        return
    yield (
        f"api_base_url {url_without_user!r} is not allowed: use https (the default is "
        f"{DEFAULT_API_BASE_URL}); plain http is accepted only for a loopback host such as "
        "127.0.0.1 or localhost."
    )


def _is_loopback(hostname: str | None) -> bool:
    if not hostname:
        return False
    if hostname.lower() in LOOPBACK_HOSTNAMES:
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False
