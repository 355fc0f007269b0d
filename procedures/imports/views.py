"""Upload an inventory, preview what it changes, then import it in one transaction."""

from __future__ import annotations

import json
from unicodedata import normalize

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlmodel import col

from procedures.catalogue.procedures import list_divisions
from procedures.core import db
from procedures.core.auth import UPLOAD_ROLES, roles_required
from procedures.core.forms import as_choices
from procedures.core.i18n import number, problem_text, problem_text_without_row
from procedures.imports import progress
from procedures.imports.forms import (
    CommitForm,
    ConfirmForm,
    MappingForm,
    RefreshForm,
    UploadForm,
    ValuesForm,
)
from procedures.models import Division, ImportBatch, Role

bp = Blueprint("imports", __name__, url_prefix="/imports")

#: The scopes a person may choose (procedures.imports.preview.SCOPES, without loading it).
SCOPE_CHOICES = ("whole", "only_these")


@bp.teardown_request
def _give_back_memory(_exc: BaseException | None) -> None:
    # A request that read a whole inventory freed it by now; without a trim glibc keeps that
    # memory, and each worker would stay as large as the largest file it ever read.
    if g.pop("read_a_file", False):
        from importers.readers import release_free_memory  # loaded by the request's reading

        release_free_memory()


def _own_division_name() -> str | None:
    if current_user.role != Role.division:
        return None
    division = db.session().get(Division, current_user.division_id)
    assert division is not None  # a division user belongs to an existing division
    return division.name


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*UPLOAD_ROLES)
def upload():
    """Take a file, check it, keep it as a previewed batch and show what it would change."""
    # Loaded when first used (the import pipeline loads the importers package): keeps the
    # CLI's start-up close to the bare framework.
    from importers.inventory import ReadLimits
    from procedures.imports.service import Upload, preview_upload
    from procedures.survey.returns import SurveyRefused, recognised_messages

    session = db.session()
    form = UploadForm()
    own = _own_division_name()
    if own:
        form.division.choices = as_choices([(own, own)])
    else:
        divisions = [(name, name) for _id, name, _dept in list_divisions(session)]
        form.division.choices = as_choices([("", _("Take it from the file")), *divisions])
    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return render_template("imports/upload.html", form=form, own=own), status
    upload_file = form.file.data
    content = upload_file.read()
    file_name = upload_file.filename or "upload"
    division_name = own or form.division.data or None
    limits = ReadLimits(max_bytes=current_app.config["UPLOAD_MAX_BYTES"])
    g.read_a_file = True
    try:
        previewed = preview_upload(
            session,
            Upload(content, file_name, division_name, current_user.id, limits),
            city=current_app.config["CITY_NAME"],
            own_division=session.get(Division, current_user.division_id) if own else None,
        )
    except SurveyRefused as refusal:
        # Said at the file's field (and in the summary above the form), not in a banner.
        form.file.errors = [*form.file.errors, str(refusal)]
        return render_template("imports/upload.html", form=form, own=own), 400
    outcome, batch = previewed.outcome, previewed.batch
    if outcome.refused is not None:
        form.file.errors = [*form.file.errors, problem_text(outcome.refused)]
        return render_template("imports/upload.html", form=form, own=own), 400
    if batch is None:
        flash(_("This exact file was imported before. Nothing was changed."), "warning")
        return redirect(url_for("imports.show", batch_id=outcome.duplicate_of))
    if previewed.survey:
        for message, category in recognised_messages(previewed.survey):
            flash(message, category)
    db.commit()
    return redirect(url_for("imports.show", batch_id=batch.id))


def _batch_or_404(batch_id: int) -> ImportBatch:
    batch = db.session().get(ImportBatch, batch_id)
    if batch is None:
        abort(404)
    if current_user.role == Role.division and batch.user_id != current_user.id:
        abort(403)
    return batch


@bp.route("/<int:batch_id>")
@roles_required(*UPLOAD_ROLES)
def show(batch_id: int):
    """Show a previewed batch's changes (computed afresh) or a committed batch's result."""
    batch = _batch_or_404(batch_id)
    if batch.status == "running":
        return redirect(url_for("imports.progress_page", batch_id=batch_id))
    return _show_page(batch)


def _show_page(batch: ImportBatch, value_errors: dict[str, str] | None = None, status: int = 200):
    """Render a batch's page; `value_errors` are refused decisions by their row of the table,
    shown with the decisions as the person entered them (the request's form)."""
    # Loaded when first used (the import pipeline loads the importers package): keeps the
    # CLI's start-up close to the bare framework.
    from importers.inventory import FIELDS
    from procedures.imports.report import stored_preview
    from procedures.imports.service import refresh_preview, stale_notice

    session = db.session()
    outcome = None
    stale = None
    if batch.status == "previewed":
        outcome = stored_preview(batch)
        if outcome is None:  # previewed before previews were kept: compare once, and keep it
            g.read_a_file = True
            refresh_preview(session, batch=batch)
            db.commit()
            outcome = stored_preview(batch)
        stale = stale_notice(session, batch)
    return render_template(
        "imports/show.html",
        batch=batch,
        outcome=outcome,
        stale=stale,
        form=_commit_form(outcome.absent if outcome else 0),
        refresh_form=RefreshForm(),
        mapping_form=MappingForm(),
        values_form=ValuesForm(),
        value_errors=value_errors or {},
        entered=request.form if value_errors else None,
        problem_text=problem_text,
        group_text=problem_text_without_row,
        fields=FIELDS,
    ), status


def _commit_form(absent: int) -> CommitForm:
    """The import button, with the question what the file is when procedures are absent."""
    from procedures.imports.preview import ONLY_THESE, WHOLE

    form = CommitForm()
    form.scope.choices = [
        (
            WHOLE,
            _(
                "This file is the whole inventory of its divisions: mark the %(count)s "
                "procedures absent from it as missing.",
                count=f"{absent:,}",
            ),
        ),
        (
            ONLY_THESE,
            _(
                "This file updates only the procedures in it: leave the %(count)s others as "
                "they are.",
                count=f"{absent:,}",
            ),
        ),
    ]
    return form


@bp.route("/<int:batch_id>/values", methods=["POST"])
@roles_required(*UPLOAD_ROLES)
def decide_values(batch_id: int):
    """Keep the person's decisions on values the tool did not understand; preview again."""
    from importers.decisions import UNDECIDED, is_valid, value_key
    from procedures.imports.report import stored_preview
    from procedures.imports.service import refresh_preview

    batch = _batch_or_404(batch_id)
    if batch.status != "previewed" or not ValuesForm().validate_on_submit():
        abort(400)
    decisions = json.loads(batch.value_map) if batch.value_map else {}
    shown = stored_preview(batch)
    shown_decided = {
        (entry.field, entry.key)
        for entry in (shown.unrecognised if shown else [])
        if entry.decision is not None
    }
    refused: dict[str, str] = {}
    for key, field in request.form.items():
        if not key.startswith("value-field-"):
            continue
        number = key.removeprefix("value-field-")
        value = value_key(request.form.get("value-key-" + number, ""))
        # NFKC: a number typed with the Japanese input method on (１，２００) is 1,200, as the
        # edit form and the importer read it.
        decision = normalize("NFKC", request.form.get("decision-" + number, ""))
        decision = decision.strip().replace(",", "")
        if not decision:
            if (field, value) in shown_decided:  # withdrawn, even if saved from an earlier file
                decisions.setdefault(field, {})[value] = UNDECIDED
            continue
        if not is_valid(field, decision):
            refused[number] = _(
                "“%(value)s” is not a choice for this column; nothing was changed.",
                value=decision,
            )
            continue
        decisions.setdefault(field, {})[value] = decision
    if refused:  # every refusal at once, at its row, with what was typed kept
        return _show_page(batch, value_errors=refused, status=400)
    batch.value_map = json.dumps(decisions, ensure_ascii=False)
    g.read_a_file = True
    refresh_preview(db.session(), batch=batch)
    db.commit()
    flash(_("Your decisions were applied. Check the preview again."), "success")
    return redirect(url_for("imports.show", batch_id=batch_id))


@bp.route("/<int:batch_id>/refresh", methods=["POST"])
@roles_required(*UPLOAD_ROLES)
def refresh(batch_id: int):
    """Compare a previewed batch's stored file again with the procedures as they are now.

    Offered when its import was refused because procedures were saved after the preview.
    """
    from procedures.imports.service import refresh_preview

    batch = _batch_or_404(batch_id)
    if not RefreshForm().validate_on_submit():
        abort(400)
    if batch.status != "previewed":
        flash(_("This import was already done or cancelled."), "warning")
        return redirect(url_for("imports.show", batch_id=batch_id))
    g.read_a_file = True
    refresh_preview(db.session(), batch=batch)
    db.commit()
    flash(
        _(
            "The file was compared again with the procedures as they are now. Check the "
            "changes, then import them."
        ),
        "success",
    )
    return redirect(url_for("imports.show", batch_id=batch_id))


@bp.route("/<int:batch_id>/mapping", methods=["POST"])
@roles_required(*UPLOAD_ROLES)
def change_mapping(batch_id: int):
    """Keep the person's column mapping for this batch and show the preview again."""
    # Loaded when first used (the import pipeline loads the importers package): keeps the
    # CLI's start-up close to the bare framework.
    from importers.inventory import FIELDS
    from procedures.imports.service import refresh_preview

    batch = _batch_or_404(batch_id)
    if batch.status != "previewed" or not MappingForm().validate_on_submit():
        abort(400)
    mapping: dict[str, str | None] = {}
    for key, header in request.form.items():
        if key.startswith("header-"):
            field = request.form.get("field-" + key.removeprefix("header-"), "")
            if field and field not in FIELDS:
                abort(400)
            mapping[header] = field or None
    batch.mapping = json.dumps(mapping, ensure_ascii=False)
    g.read_a_file = True
    refresh_preview(db.session(), batch=batch)
    db.commit()
    flash(_("The column mapping was applied. Check the preview again."), "success")
    return redirect(url_for("imports.show", batch_id=batch_id))


def _may_commit(batch: ImportBatch) -> bool:
    """A previewed batch may be imported; so may one whose import was interrupted."""
    if batch.status == "previewed":
        return True
    assert batch.id is not None  # a stored batch
    current = progress.read(batch.id) if batch.status == "running" else None
    return current is not None and current.stale


@bp.route("/<int:batch_id>/progress")
@roles_required(*UPLOAD_ROLES)
def progress_page(batch_id: int):
    """Show how far a long import is; the page polls progress.json and opens the result."""
    batch = _batch_or_404(batch_id)
    if batch.status == "committed":
        return redirect(url_for("imports.show", batch_id=batch_id))
    current = progress.read(batch_id)
    if current is None:
        return redirect(url_for("imports.show", batch_id=batch_id))
    return render_template(
        "imports/progress.html", batch=batch, progress=current, form=ConfirmForm()
    )


@bp.route("/<int:batch_id>/progress.json")
@roles_required(*UPLOAD_ROLES)
def progress_json(batch_id: int):
    """Return how far a long import is, as JSON, for the progress page."""
    _batch_or_404(batch_id)
    current = progress.read(batch_id)
    if current is None:
        abort(404)
    return current.as_json()


@bp.route("/<int:batch_id>/commit", methods=["POST"])
@roles_required(*UPLOAD_ROLES)
def commit(batch_id: int):
    """Import a previewed batch; on any failure nothing is written."""
    # Loaded when first used (the import pipeline loads the importers package): keeps the
    # CLI's start-up close to the bare framework.
    from procedures.imports import jobs as import_jobs
    from procedures.imports.preview import ImportChanged
    from procedures.imports.report import stored_preview
    from procedures.imports.service import commit_previewed, note_saved_since

    session = db.session()
    batch = _batch_or_404(batch_id)
    form = _commit_form(0)  # its choices, so that the chosen scope validates
    if not _may_commit(batch) or not form.validate_on_submit():
        flash(_("This import was already done or cancelled."), "warning")
        return redirect(url_for("imports.show", batch_id=batch_id))
    preview = stored_preview(batch) if batch.status == "previewed" else None
    if preview is not None and preview.nothing_importable:
        flash(_("Every row of this file was refused: there is nothing to import."), "error")
        return redirect(url_for("imports.show", batch_id=batch_id))
    if preview is not None and preview.absent and form.scope.data not in SCOPE_CHOICES:
        flash(
            _(
                "Choose whether this file is the whole inventory or updates only the "
                "procedures in it, then import."
            ),
            "error",
        )
        return redirect(url_for("imports.show", batch_id=batch_id))
    if form.scope.data in SCOPE_CHOICES and batch.scope != form.scope.data:
        # Kept in a transaction of its own: the import's must not hold the write lock while
        # it compares (a clerk's save meanwhile would wait on SQLite, not be detected).
        batch.scope = form.scope.data
        db.commit()
    if import_jobs.runs_in_background(batch):
        import_jobs.start_commit(batch, current_user.id)
        return redirect(url_for("imports.progress_page", batch_id=batch_id))
    try:
        g.read_a_file = True
        outcome = commit_previewed(session, batch_id=batch_id, user_id=current_user.id)
    except ImportChanged as refusal:
        # Nothing of it stays; the preview page lists the procedures saved since the preview
        # and offers to preview again (as after a refused background import, jobs.py).
        session.rollback()
        note_saved_since(session, batch_id, refusal)
        db.commit()
        return redirect(url_for("imports.show", batch_id=batch_id))
    if outcome.duplicate_of is not None:
        flash(_("This exact file was imported before. Nothing was changed."), "warning")
        return redirect(url_for("imports.show", batch_id=outcome.duplicate_of))
    if not outcome.committed:  # the stored file can no longer be read as it was
        session.rollback()
        if outcome.refused is None:  # every row refused (the file or the inventory changed)
            flash(_("Every row of this file was refused: there is nothing to import."), "error")
        else:
            flash(problem_text(outcome.refused), "error")
        return redirect(url_for("imports.show", batch_id=batch_id))
    db.commit()
    flash(
        _(
            "Imported: %(created)s new, %(updated)s changed, %(unchanged)s unchanged, "
            "%(missing)s missing.",
            created=number(outcome.created),
            updated=number(outcome.updated),
            unchanged=number(outcome.unchanged),
            missing=number(outcome.missing),
        ),
        "success",
    )
    return redirect(url_for("imports.show", batch_id=batch_id))


@bp.route("/")
@roles_required(*UPLOAD_ROLES)
def history():
    """List recent imports (a division user sees its own)."""
    query = select(ImportBatch).order_by(col(ImportBatch.created_at).desc()).limit(100)
    if current_user.role == Role.division:
        query = query.where(col(ImportBatch.user_id) == current_user.id)
    batches = db.session().execute(query).scalars().all()
    return render_template("imports/history.html", batches=batches)
