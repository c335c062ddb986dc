"""Names normalised and refused when they look like an existing one or carry control or
bidirectional characters; method cards and challenge text refuse those characters too (the
review found "Team  A" beside "Team A", Cyrillic look-alikes, and U+202E in cards)."""

from __future__ import annotations

import pytest
from helpers import make_bundle

from arena.domain.cards import check_method_card
from arena.domain.names import normalise, skeletons
from arena.errors import BadRequest, Conflict
from arena.services import accounts
from arena.services.bundles import load_bundle
from arena.services.challenges import create_challenge


@pytest.mark.parametrize(
    "a, b",
    [
        ("Team A", "Team  A"),
        ("Team A", "Ｔｅａｍ A"),
        ("Alpha", "Аlpha"),
        ("Team l", "Team I"),
        ("Team 1", "Team l"),
        ("Olga", "0lga"),
        ("Beta", "beta"),
        ("Team A", "TeamA"),
    ],
)
def test_look_alike_team_names_are_refused(platform, a, b):
    accounts.create_team(platform, name=a, factories=["F"])
    with pytest.raises(Conflict, match="exists already|looks like"):
        accounts.create_team(platform, name=b, factories=["F"])


@pytest.mark.parametrize("name", ["Team\u202eA", "Team\u200bA", "Team\x00A", "Team\x1bA", "Team\u2066A\u2069"])
def test_control_and_bidirectional_characters_are_refused_in_names(platform, name):
    with pytest.raises(BadRequest, match="control or bidirectional"):
        accounts.create_team(platform, name=name, factories=["F"])
    with pytest.raises(BadRequest, match="control or bidirectional"):
        accounts.create_organiser(platform, name=name)
    with pytest.raises(BadRequest, match="control or bidirectional"):
        accounts.create_team(platform, name="Fine", factories=[name])


def test_names_are_stored_normalised(platform):
    who, _ = accounts.create_team(platform, name="  Ｔｅａｍ \t  Ω  ", factories=["LUMI   AI"])
    assert who.name == "Team Ω" == normalise("  Ｔｅａｍ \t  Ω  ")
    accounts.create_team(platform, name="Other", factories=["LUMI AI"])  # the same factory, once
    with pytest.raises(Conflict, match="looks like the existing 'LUMI AI'"):
        accounts.create_team(platform, name="Third", factories=["Lumi AI"])


def test_look_alike_organisers_are_refused_and_different_names_pass(platform):
    accounts.create_organiser(platform, name="Data Owner")
    with pytest.raises(Conflict):
        accounts.create_organiser(platform, name="Data 0wner")
    accounts.create_organiser(platform, name="Data Owners United")
    assert not skeletons("Tail") & skeletons("Tall")


def test_challenge_titles_are_normalised_and_look_alikes_refused(platform, organiser_token, tmp_path):
    create_challenge(
        platform, organiser_id=1, bundle_dir=make_bundle(tmp_path / "a", slug="one", extra={"title": "GPU  faults"})
    )
    with pytest.raises(Conflict, match="looks like"):
        create_challenge(
            platform, organiser_id=1, bundle_dir=make_bundle(tmp_path / "b", slug="two", extra={"title": "GPU fau1ts"})
        )
    with pytest.raises(BadRequest, match="bidirectional"):
        load_bundle(make_bundle(tmp_path / "c", slug="three", extra={"title": "GPU \u202estluaf"}))
    with pytest.raises(BadRequest, match="bidirectional"):
        load_bundle(make_bundle(tmp_path / "d", slug="four", extra={"description": "fine\n\u2067hidden"}))
    assert load_bundle(make_bundle(tmp_path / "e", slug="five", extra={"description": "two\nlines"})).title


@pytest.mark.parametrize("field", ["name", "description", "licence", "code_url"])
def test_method_card_fields_refuse_control_and_bidirectional_characters(field):
    card = {"name": "Net", "description": "line one\nline two", "licence": "MIT", "code_url": "https://x.eu/a"}
    check_method_card(card)
    with pytest.raises(BadRequest, match="control or bidirectional"):
        check_method_card({**card, field: card[field] + "\u202e"})
