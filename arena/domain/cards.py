"""Method cards: what a team says about an entry (name, description, code, licence, open source),
public in the log and on the board. Checked by the server and, before anything is uploaded, by
`arena submit --method-card`."""

from __future__ import annotations

from typing import Any

from arena.domain.names import refuse_unsafe
from arena.errors import BadRequest

CARD_KEYS = {"name", "description", "code_url", "licence", "open_source"}


def check_method_card(card: Any) -> dict[str, Any]:
    """A method card: name (1-100), description (up to 2,000), code_url (http(s)), licence (up to
    100, e.g. an SPDX id), open_source (true needs a code_url and a licence)."""
    if not isinstance(card, dict) or set(card) - CARD_KEYS:
        raise BadRequest(f"a method card is an object with the keys {', '.join(sorted(CARD_KEYS))}")
    name, description = card.get("name"), card.get("description", "")
    code_url, licence, open_source = card.get("code_url"), card.get("licence"), card.get("open_source", False)
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
        raise BadRequest("method card: name must be text of 1-100 characters")
    if not isinstance(description, str) or len(description) > 2000:
        raise BadRequest("method card: description must be text of at most 2,000 characters")
    if code_url is not None and (
        not isinstance(code_url, str) or len(code_url) > 500 or not code_url.startswith(("https://", "http://"))
    ):
        raise BadRequest("method card: code_url must be an http(s) address of at most 500 characters")
    if licence is not None and (not isinstance(licence, str) or not 1 <= len(licence.strip()) <= 100):
        raise BadRequest("method card: licence must be text of 1-100 characters, e.g. Apache-2.0")
    if not isinstance(open_source, bool):
        raise BadRequest("method card: open_source must be true or false")
    if open_source and not (code_url and licence):
        raise BadRequest("method card: an open-source entry needs its code_url and its licence")
    for key, value in (("name", name), ("code_url", code_url), ("licence", licence)):
        refuse_unsafe(value or "", f"method card: {key}")
    refuse_unsafe(description, "method card: description", allow="\n\t")
    return {
        "name": name.strip(),
        "description": description,
        "code_url": code_url,
        "licence": licence,
        "open_source": open_source,
    }
