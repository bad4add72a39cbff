"""The dedup window: exact membership whatever form an id has, eviction in arrival order."""

from __future__ import annotations

import uuid

from kyma_connectors.gateway.dedup import DedupWindow, window_key


def test_ids_are_members_exactly_in_every_form() -> None:
    canonical = str(uuid.uuid4())
    forms = [canonical, canonical.upper(), canonical.replace("-", ""), f"{{{canonical}}}", "delivery-7", "42"]
    window = DedupWindow(100)
    window.add(canonical)
    assert canonical in window
    assert [form in window for form in forms[1:]] == [False] * 5  # other spellings are other ids
    window.extend(forms)
    assert len(window) == len(forms)
    assert all(form in window for form in forms)
    assert str(uuid.uuid4()) not in window
    assert 42 not in window  # only strs are ids


def test_a_uuid_key_is_its_number_and_other_ids_stay_as_they_are() -> None:
    canonical = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    assert window_key(canonical) == uuid.UUID(canonical).int
    assert window_key(canonical.upper()) == canonical.upper()
    assert window_key("72d3162e-cc78-11e3-81ab-4c9367dc095g") == "72d3162e-cc78-11e3-81ab-4c9367dc095g"


def test_the_oldest_ids_leave_first() -> None:
    ids = [str(uuid.uuid4()) for _ in range(5)] + ["plain-1", "plain-2"]
    window = DedupWindow(4)
    window.extend(ids)
    window.add(ids[-1])  # already a member: does not move or duplicate
    assert [event_id in window for event_id in ids] == [False, False, False, True, True, True, True]
    assert len(window) == 4
