"""The one blueprint of the pages; the modules beside this one add their routes to it."""

from flask import Blueprint, current_app

bp = Blueprint("web", __name__)


def platform():
    return current_app.extensions["arena"]
