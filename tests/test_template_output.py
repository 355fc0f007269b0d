"""The shared template macros draw exactly the markup the pages used to write out in full."""

from wtforms import BooleanField, Form, StringField, SubmitField
from wtforms.validators import DataRequired

from procedures.catalogue.forms import MultiCheckboxField
from procedures.core.forms import as_choices


class SampleForm(Form):
    name = StringField("Name", validators=[DataRequired()], description="As on the form.")
    eligible = BooleanField("Eligible")
    blockers = MultiCheckboxField(
        "Blockers", choices=as_choices([("law", "Law"), ("seal", "Seal")])
    )
    submit = SubmitField("Save")


def render(app, source: str, **context) -> str:
    with app.test_request_context():
        return app.jinja_env.from_string(source).render(**context)


def same_output(app, by_macro: str, by_hand: str, **context) -> None:
    """Assert a template using the macros renders as the hand-written markup it replaced."""
    imports = '{% from "_macros.html" import field, fields, checkbox_group, submit_or_cancel, '
    imports += "option, filter_select, stat, page_header, term_help %}"
    assert render(app, imports + by_macro, **context) == render(app, imports + by_hand, **context)


def test_filter_selects_are_drawn_as_they_were_written(app):
    by_macro = """
  {% call filter_select("dept", "Dept") %}{% for v, t in rows %}{{ option(v, t, c) }}{% endfor %}{% endcall %}
  {% call filter_select("state", "State", blank=false) -%}
      {{ option("current", "Current", state) }}
      {{ option("all", "All", state) }}
  {%- endcall %}
"""  # noqa: E501 (a template's line, as it stands in the page)
    by_hand = """
  <div class="form-field">
    <label for="dept">Dept</label>
    <select id="dept" name="dept">
      <option value="">{{ _("All") }}</option>
      {% for v, t in rows %}<option value="{{ v }}"{% if c == v %} selected{% endif %}>{{ t }}</option>{% endfor %}
    </select>
  </div>
  <div class="form-field">
    <label for="state">State</label>
    <select id="state" name="state">
      <option value="current"{% if state == 'current' %} selected{% endif %}>Current</option>
      <option value="all"{% if state == 'all' %} selected{% endif %}>All</option>
    </select>
  </div>
"""  # noqa: E501
    same_output(app, by_macro, by_hand, rows=[(1, "市民部"), (2, "福祉部")], c=2, state="all")


def test_form_fields_are_drawn_as_they_were_written(app):
    form = SampleForm(data={"name": ""})
    form.validate()  # the name field gets an error, drawn under it
    by_macro = """<form>
  {{ fields(form.name, form.eligible) }}
  {{ checkbox_group(form.blockers) }}
  {{ submit_or_cancel(form.submit, "/back") }}
</form>"""
    by_hand = """<form>
  {{ field(form.name) }}
  {{ field(form.eligible) }}
  <fieldset class="form-field">
    <legend>{{ form.blockers.label.text }}</legend>{{ term_help("blockers") }}
    <div class="checkbox-list">{{ form.blockers() }}</div>
  </fieldset>
  <div class="form-actions">
    {{ form.submit(class_="btn btn-primary") }}
    <a class="btn btn-link" href="/back">{{ _("Cancel") }}</a>
  </div>
</form>"""
    same_output(app, by_macro, by_hand, form=form)


def test_stats_and_page_headers_are_drawn_as_they_were_written(app):
    by_macro = """{{ page_header("Imports", "Every import.") }}
<div class="stat-grid">
  {{ stat("{:,}".format(1234), "read") }}
</div>"""
    by_hand = """<h1 class="page-title">Imports</h1>
<p class="lead">Every import.</p>
<div class="stat-grid">
  <div class="stat"><span class="stat-value">1,234</span><span class="stat-label">read</span></div>
</div>"""
    same_output(app, by_macro, by_hand)


def test_an_imports_change_shows_each_value_as_the_pages_do(app):
    """change_text: stored "true", "40000", codes → the words, figures and labels of the page."""
    cases = [
        ("seal_required", "true", "はい", "Yes"),
        ("seal_required", "false", "いいえ", "No"),
        ("seal_required", None, "不明", "Unknown"),
        ("visit_required", "true", "要", "Visit needed"),
        ("annual_volume", "40000", "40,000", "40,000"),
        ("annual_volume", None, "—", "—"),
        ("volume_fiscal_year", "2024", "FY2024 (令和6年度)", "FY2024 (令和6年度)"),
        ("online_status", "partial", "一部実施済", "Partly online"),
        ("verdict", "infeasible", "オンライン化不可", "Not feasible"),
        ("kind", "certificate", "証明書交付", "Certificate"),
        ("identity_check", "3", "署名", "Signature"),
        ("channel", "窓口予約システム", "窓口予約システム", "窓口予約システム"),
        (
            "lifecycle",
            "missing",
            "取り込みファイルに未掲載",
            "Missing in the last import",
        ),
        (
            "blockers",
            "law_change; no_system",
            "制度改正が必要、システムがない",
            "Law change needed, No system",
        ),
        ("fee_payment", "300円", "300円", "300円"),
        ("mynaportal_eligible", "false", "いいえ", "No"),
        ("life_events", "引越し; 子育て", "引越し、子育て", "引越し, 子育て"),
        (
            "pin",
            "FY2026: 国の優先手続",
            "FY2026 (令和8年度)に固定：国の優先手続",
            "Pinned to FY2026 (令和8年度): 国の優先手続",
        ),
        (
            "pin",
            "excluded: 窓口で足りる",
            "計画から除外：窓口で足りる",
            "Excluded from the plan: 窓口で足りる",
        ),
        ("pin", "FY: odd", "FY: odd", "FY: odd"),
    ]
    for field_name, stored, japanese, english in cases:
        for lang, expected in (("ja", japanese), ("en", english)):
            with app.test_request_context():
                from flask import session

                session["lang"] = lang
                shown = app.jinja_env.globals["change_text"](field_name, stored)
            assert shown == expected, (field_name, stored, lang)
