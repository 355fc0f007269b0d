"""The procedures app: inventory, triage and yearly conversion planning for a DX office."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then instance config, then environment, then extensions."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    # Browsers ask for /favicon.ico whatever a page declares: answer as the static file it is
    # (open without signing in, cached like the other static files), not with a 404. Werkzeug
    # then redirects /static/favicon.ico here, and url_for builds this address for it.
    app.add_url_rule(
        "/favicon.ico",
        endpoint="static",
        view_func=app.view_functions["static"],
        defaults={"filename": "favicon.ico"},
    )
    app.config.from_mapping(
        DATABASE_URL=f"sqlite:///{Path(app.instance_path) / 'procedures.sqlite'}",
        MAX_CONTENT_LENGTH=20 * 1024 * 1024,
        UPLOAD_MAX_BYTES=20 * 1024 * 1024,
        # Files with this many rows or more import beside the request, with a progress page.
        IMPORT_BACKGROUND_ROWS=5000,
        BABEL_DEFAULT_LOCALE="ja",
        BABEL_DEFAULT_TIMEZONE="Asia/Tokyo",
        CITY_NAME="藤沢市（デモ）",
        # The demo accounts' passwords, for `make run` to show (procedures.demo.accounts).
        DEMO_ACCOUNTS_FILE=str(Path(app.instance_path) / "demo-accounts.json"),
        PAGE_SIZE=50,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
    )
    if test_config is None:
        _load_instance_config(app)
    else:
        app.config.from_mapping(test_config)

    # Imported here, not at the top: `import procedures.models` (Alembic, the benchmarks) must
    # not load the web layer.
    from procedures import (
        accounts,
        catalogue,
        dashboard,
        demo,
        imports,
        national,
        plan,
        priority,
        survey,
    )
    from procedures import help as help_pages
    from procedures.core import auth, cli, db, errors, i18n, security, templating

    # Core first (database, sign-in, languages, errors, templating), then each area of the job.
    for area in (db, i18n, auth, errors, templating, security, cli):
        area.init_app(app)
    for area in (
        accounts,
        catalogue,
        imports,
        plan,
        priority,
        national,
        dashboard,
        survey,
        demo,
        help_pages,
    ):
        area.init_app(app)
    if app.config.get("TRUSTED_PROXIES"):
        # Behind a reverse proxy every request comes from the proxy's address: take the
        # client's address (sign-in throttling and log) and scheme from the X-Forwarded-*
        # headers set by that many proxies. Off by default, as a client could forge them.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["TRUSTED_PROXIES"])
        # Flask's documented way to add WSGI middleware, though wsgi_app is typed as a method.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )
    return app


def _load_instance_config(app: Flask) -> None:
    """Read instance/config.py (generated with a SECRET_KEY once), then the environment."""
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    config_file = instance / "config.py"
    if not config_file.exists() and "SECRET_KEY" not in os.environ:
        # A key per installation, never a constant in the code; readable by its owner only
        # (created 0600, never 0644 first), and never written over one another worker made.
        try:
            descriptor = os.open(config_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                file.write(f"SECRET_KEY = {secrets.token_hex(32)!r}\n")
    app.config.from_pyfile(config_file.name, silent=True)
    for name in ("SECRET_KEY", "DATABASE_URL", "CITY_NAME", "PROGRESS_DATABASE_URL"):
        if os.environ.get(name):
            app.config[name] = os.environ[name]
    if os.environ.get("IMPORT_BACKGROUND_ROWS"):
        app.config["IMPORT_BACKGROUND_ROWS"] = int(os.environ["IMPORT_BACKGROUND_ROWS"])
    if os.environ.get("UPLOAD_MAX_BYTES"):
        app.config["UPLOAD_MAX_BYTES"] = int(os.environ["UPLOAD_MAX_BYTES"])
        app.config["MAX_CONTENT_LENGTH"] = app.config["UPLOAD_MAX_BYTES"] + 1024 * 1024
    if os.environ.get("HTTPS") == "1":
        # Served over TLS: a Secure session cookie and Strict-Transport-Security (core.security).
        app.config["HTTPS"] = True
        app.config["SESSION_COOKIE_SECURE"] = True
    if os.environ.get("TRUSTED_PROXIES"):
        app.config["TRUSTED_PROXIES"] = int(os.environ["TRUSTED_PROXIES"])
