"""The WSGI application for production servers: `gunicorn 'arena.wsgi:app'` (or `arena serve
--workers N`, which runs exactly that). It serves the API and pages only; evaluations run in
separate `arena worker` processes. Settings come from the environment (arena/config.py)."""

from arena import create_app

app = create_app()
