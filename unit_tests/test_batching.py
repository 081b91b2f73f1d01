"""ID normalisation, batch sizes and request bodies."""

from __future__ import annotations

import pytest

from source_partner_clients.batching import (
    HUBSPOT_DEFAULT_PROPERTIES,
    build_batch_read_body,
    effective_batch_size,
    normalize_partner_client_ids,
    split_into_batches,
)


def test_normalize_trims_whitespace() -> None:
    normalized = normalize_partner_client_ids([" 101", "102 ", "\t103\n"])
    assert normalized.ids == ("101", "102", "103")


def test_normalize_skips_blank_entries() -> None:
    normalized = normalize_partner_client_ids(["101", "", "   ", "102"])
    assert normalized.ids == ("101", "102")
    assert normalized.blank_count == 2


def test_normalize_keeps_first_seen_order() -> None:
    normalized = normalize_partner_client_ids(["3", "1", "3", " 1", "2"])
    assert normalized.ids == ("3", "1", "2")
    assert normalized.duplicate_count == 2


def test_normalize_keeps_leading_zeros_and_literals() -> None:
    normalized = normalize_partner_client_ids(["007", "True", "None", "1e3", "[1]"])
    assert normalized.ids == ("007", "True", "None", "1e3", "[1]")


def test_normalize_reads_integers_as_text() -> None:
    assert normalize_partner_client_ids([101, "102"]).ids == ("101", "102")


@pytest.mark.parametrize("bad_id", [None, 1.5, True, {"id": "1"}, ["1"]])
def test_normalize_rejects_other_types(bad_id: object) -> None:
    with pytest.raises(ValueError, match=r"partner_client_ids\[1\]"):
        normalize_partner_client_ids(["101", bad_id])


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({}, 100),
        ({"batch_size": 25}, 25),
        ({"batch_size": 100}, 100),
        ({"batch_size": 500}, 100),
        ({"batch_size": 100, "properties_with_history": ["name"]}, 50),
        ({"batch_size": 10, "properties_with_history": ["name"]}, 10),
        ({"properties_with_history": []}, 100),
    ],
)
def test_effective_batch_size(config: dict[str, object], expected: int) -> None:
    assert effective_batch_size(config) == expected


def test_split_250_ids_into_100_100_50() -> None:
    ids = [str(i) for i in range(250)]
    sizes = [len(batch) for batch in split_into_batches(ids, 100)]
    assert sizes == [100, 100, 50]


def test_split_keeps_every_id_once_in_order() -> None:
    ids = [str(i) for i in range(7)]
    batches = list(split_into_batches(ids, 3))
    assert [i for batch in batches for i in batch] == ids


def test_body_sends_ids_as_strings() -> None:
    body = build_batch_read_body(["007", "True", "12"], {})
    assert body["inputs"] == [{"id": "007"}, {"id": "True"}, {"id": "12"}]


def test_body_has_required_fields_when_unconfigured() -> None:
    body = build_batch_read_body(["1"], {})
    assert body == {"inputs": [{"id": "1"}], "properties": [], "propertiesWithHistory": []}


def test_body_carries_properties_and_history() -> None:
    config = {"properties": ["name", "name", "city"], "properties_with_history": ["city"]}
    body = build_batch_read_body(["1"], config)
    assert body["properties"] == ["name", "city"]
    assert body["propertiesWithHistory"] == ["city"]
    assert "idProperty" not in body


def test_body_adds_id_property_to_properties() -> None:
    body = build_batch_read_body(["PC-1"], {"id_property": "code", "properties": ["name"]})
    assert body["idProperty"] == "code"
    assert body["properties"] == ["name", "code"]


def test_body_keeps_defaults_when_adding_id_property() -> None:
    body = build_batch_read_body(["PC-1"], {"id_property": "code"})
    assert body["properties"] == [*HUBSPOT_DEFAULT_PROPERTIES, "code"]


def test_body_does_not_repeat_listed_id_property() -> None:
    body = build_batch_read_body(["PC-1"], {"id_property": "code", "properties": ["code"]})
    assert body["properties"] == ["code"]
