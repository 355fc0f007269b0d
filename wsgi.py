"""The WSGI entry point: the only module-level application."""

from procedures import create_app

app = create_app()
