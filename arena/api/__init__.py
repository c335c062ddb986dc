"""The JSON API under /api: one blueprint per resource."""

from flask import Flask

from arena.api import challenges, log, meta, metrics, node, openapi, rounds, site, submissions, teams, uploads


def init_app(app: Flask) -> None:
    for module in (meta, challenges, rounds, submissions, teams, uploads, log, node, site, openapi, metrics):
        app.register_blueprint(module.bp)
    app.register_blueprint(log.tiles)
