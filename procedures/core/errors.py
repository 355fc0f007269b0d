"""Error pages in the user's language: no stack trace, SQL or path ever reaches a page."""

from __future__ import annotations

import logging

from flask import Flask, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from procedures.core import db, params

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    """Register handlers that render errors as plain pages with what to do next.

    Also bounds the routes' integers and refuses NUL bytes (procedures.core.params): before
    the areas add their routes, which take their converters when added.
    """
    params.init_app(app)

    @app.errorhandler(params.BadParameter)
    def _bad_parameter(error: params.BadParameter) -> ResponseReturnValue:
        log.info("Refused a malformed parameter: %s", error.parameter[:100])
        return render_template("error.html", status=400, message=error.message), 400

    @app.errorhandler(DataError)
    def _data_error(error: DataError) -> ResponseReturnValue:
        # The last line of defence: a value the database refuses (a number out of range, a
        # NUL byte) is a malformed request, not a server fault. Parameters are checked in
        # procedures.core.params before they get here; a route that lets one through is a bug,
        # hence the warning.
        log.warning("The database refused a value of the request: %s", error.orig)
        db.session().rollback()
        return render_template("error.html", status=400, message=params.BAD_PARAMETER), 400

    @app.errorhandler(CSRFError)
    def _csrf_error(_error: CSRFError) -> ResponseReturnValue:
        message = _(
            "The form has expired or was sent from elsewhere. Reload the page and try again."
        )
        return render_template("error.html", status=400, message=message), 400

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(_error: RequestEntityTooLarge) -> ResponseReturnValue:
        limit_mb = f"{round(app.config['UPLOAD_MAX_BYTES'] / (1024 * 1024), 1):g}"
        message = _(
            "The file is larger than %(limit)s MB. Split it by department or remove unused sheets.",
            limit=limit_mb,
        )
        return render_template("error.html", status=413, message=message), 413

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> ResponseReturnValue:
        messages = {
            403: _("You do not have permission for this page or action."),
            404: _("This page does not exist. Check the address or go back to the list."),
            400: str(params.BAD_PARAMETER),
            405: _("This action is not available here."),
        }
        # Flask returns an HTTPException without a code before it reaches the handlers.
        assert error.code is not None
        message = messages.get(error.code, _("The request could not be handled."))
        return render_template("error.html", status=error.code, message=message), error.code

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> ResponseReturnValue:
        log.exception("Unhandled error", exc_info=error)
        message = _(
            "Something went wrong on the server. Nothing was saved. Try again, "
            "and tell the DX office if it happens again."
        )
        return render_template("error.html", status=500, message=message), 500
