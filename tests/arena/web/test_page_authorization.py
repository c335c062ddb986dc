"""The pages' authorization matrix: every page route (from the app's URL map) × every signed-in
role × owned and not owned, as PAGES declares; a page route without an entry fails. The world and
the role names are those of test_authorization_matrix.py. An answer is a status (or a tuple of
them), or "sign-in" (a redirect to the sign-in page: no session of a role the page takes)."""

from __future__ import annotations

import re

import pytest
from conftest import csrf_of, web_sign_in
from test_authorization_matrix import Tenant, world  # noqa: F401 - the shared fixture

ROLES = ("anonymous", "team", "other_team", "owner", "other_organiser", "administrator")
SIGN_IN = "sign-in"
PUBLIC = {role: 200 for role in ROLES}


def page(**allowed):
    """A signed-in page: the roles named answer as given; every other role is sent to sign in."""
    return {role: allowed.get(role, SIGN_IN) for role in ROLES}


RUNNERS = {"owner": 200, "administrator": 200}
PAGES: dict[tuple[str, str], dict | str] = {
    ("GET", "/"): PUBLIC,
    ("GET", "/challenges/<slug>"): PUBLIC,
    ("GET", "/challenges/<slug>/embed"): PUBLIC,
    ("GET", "/challenges/<slug>/teams/<team>"): PUBLIC,
    ("GET", "/challenges/<slug>/rounds/<number>"): PUBLIC,
    ("GET", "/log"): PUBLIC,
    ("GET", "/.well-known/arena-keys.json"): PUBLIC,
    ("GET", "/log/checkpoint"): PUBLIC,
    (
        "GET",
        "/log/tile/<rest>",
    ): "public binary tiles: tests/arena/services/test_publiclog.py::test_checkpoint_tiles_and_proofs_routes",
    ("GET", "/metrics"): "Prometheus text, public unless ARENA_METRICS_TOKEN is set: "
    "tests/arena/services/test_prometheus_metrics.py::test_with_a_metrics_token_a_scrape_must_send_it",
    ("GET", "/sign-in"): PUBLIC,
    ("POST", "/sign-in"): "signing in: tests/arena/web/test_web.py",
    ("POST", "/sign-out"): "signing out: tests/arena/web/test_web.py",
    ("GET", "/console"): page(owner=200, other_organiser=200, administrator=200),
    ("GET", "/console/challenges/new"): page(owner=200, other_organiser=200),
    ("POST", "/console/challenges/new"): page(owner=400, other_organiser=400),  # an empty form
    ("GET", "/console/challenges/<slug>/close"): page(**RUNNERS, other_organiser=403),
    ("POST", "/console/challenges/<slug>/close"): page(owner=302, administrator=302, other_organiser=403),
    ("POST", "/console/challenges/<slug>/readmit/<team>"): page(owner=302, administrator=302, other_organiser=403),
    ("GET", "/console/submissions/<submission_id>"): page(**RUNNERS, other_organiser=404),
    ("POST", "/console/submissions/<submission_id>/log"): page(**RUNNERS, other_organiser=404),
    ("GET", "/console/tokens"): page(owner=200, other_organiser=200, administrator=200),
    ("POST", "/console/tokens"): page(owner=200, other_organiser=200, administrator=200),  # made, or refused
    ("GET", "/team"): page(team=200, other_team=200),
    ("GET", "/team/submissions/<submission_id>"): page(team=200, other_team=404),
    ("GET", "/team/submissions/<submission_id>/predictions"): page(team=200, other_team=404),
    # Its round closed in the world's making: the choice is final (409), after authorization.
    ("POST", "/team/submissions/<submission_id>/selection"): page(team=(302, 409), other_team=404),
}
# Who may make the target team's token on the tokens form (the others see the refusal).
MAKES_TEAM_TOKENS = {"owner", "administrator"}


def _rules(app) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+?)(?:\([^)]*\))?>", r"<\1>", rule.rule)
        path = re.sub(r"<int\(max=\d+\):(\w+)>", r"<\1>", path)
        found |= {(m, path) for m in rule.methods - {"HEAD", "OPTIONS"}}
    return found


def test_every_page_has_an_entry(app):
    rules = _rules(app)
    assert sorted(rules - set(PAGES)) == [], "page routes without an entry in PAGES"
    assert sorted(set(PAGES) - rules) == [], "entries in PAGES for no route"


def _clients(app, world, target: int) -> dict:  # noqa: F811 - the fixture's value
    mine, theirs = world["tenants"][target], world["tenants"][1 - target]
    tokens = {
        "team": mine.team_token,
        "other_team": theirs.team_token,
        "owner": mine.organiser_token,
        "other_organiser": theirs.organiser_token,
        "administrator": world["admin"],
    }
    clients = {"anonymous": app.test_client()}
    for role, token in tokens.items():
        clients[role] = app.test_client()
        kind = "team" if role.endswith("team") else "organiser"
        assert web_sign_in(clients[role], token, role=kind).status_code == 200
    return clients


def _url(template: str, target: Tenant) -> str:
    values = {"slug": target.slug, "team": target.team.name, "number": "1", "submission_id": target.hidden}
    if template.endswith("/predictions"):
        values["submission_id"] = target.sample
    return re.sub(r"<(\w+)>", lambda m: values[m.group(1)], template)


def _form(template: str, target: Tenant, client) -> dict:
    csrf = csrf_of(client, "/sign-in")
    extra = {
        "/console/tokens": {"team_id": str(target.team.id), "label": "page matrix"},
        "/console/submissions/<submission_id>/log": {"reason": "the page authorization matrix"},
        "/console/challenges/<slug>/close": {"early": "true"},
        "/team/submissions/<submission_id>/selection": {"selected": "false"},
    }
    return {"csrf": csrf, **extra.get(template, {})}


def _answer(response) -> int | str:
    if response.status_code == 302 and "/sign-in" in response.headers.get("Location", ""):
        return SIGN_IN
    return response.status_code


def _prepare(platform, template: str, target: Tenant) -> None:
    if template.endswith("/readmit/<team>"):
        from arena.models import Registration, Submission

        with platform.transaction() as session:
            challenge = session.get(Submission, target.hidden).challenge
            session.get(Registration, (challenge.id, target.team.id)).status = "eliminated"


@pytest.mark.parametrize("target", [0, 1], ids=["alpha", "beta"])
def test_every_page_answers_every_role_as_declared(app, world, target):  # noqa: F811
    tenant, failures = world["tenants"][target], []
    clients = _clients(app, world, target)
    for (method, template), entry in sorted(PAGES.items()):
        if isinstance(entry, str):
            continue
        for role, client in clients.items():
            _prepare(world["platform"], template, tenant)
            url = _url(template, tenant)
            data = _form(template, tenant, client) if method == "POST" else None
            response = client.open(url, method=method, data=data, buffered=True)
            body, where = response.get_data(as_text=True), f"{method} {url} as {role}"
            expected = entry[role] if isinstance(entry[role], tuple) else (entry[role],)
            if _answer(response) not in expected:
                failures.append(f"{where}: {_answer(response)}, expected {entry[role]}")
            reads = template.endswith("/log") and entry[role] == 200
            if tenant.secret in body and not reads:
                failures.append(f"{where}: shows the hidden run's log")
            if (
                template == "/console"
                and role == "other_organiser"
                and (f"/challenges/{tenant.slug}" in body or tenant.hidden in body or tenant.job in body)
            ):
                failures.append(f"{where}: shows the target's challenge, its submissions or its queue")
            if template == "/console/tokens" and method == "POST":
                made = re.search(r"arena_[A-Za-z0-9_-]{43}", body) is not None
                if made != (role in MAKES_TEAM_TOKENS):
                    failures.append(f"{where}: {'made' if made else 'did not make'} a token for {tenant.team.name}")
    assert not failures, "\n".join(failures)
