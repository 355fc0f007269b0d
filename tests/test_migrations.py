"""The Alembic migrations build exactly the schema the models describe."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from sqlmodel import SQLModel


def test_migrations_match_the_models(app):
    engine = app.extensions["engine"]
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def _alembic(app):
    from pathlib import Path

    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent.parent / "migrations"))
    config.attributes["engine"] = app.extensions["engine"]
    return config


def test_extra_columns_written_by_header_keep_their_headers_through_0009_and_back(app):
    from alembic import command
    from conftest import add_division
    from sqlalchemy import text

    from procedures.catalogue.extras import extra_attributes
    from procedures.models import ExtraHeader

    engine = app.extensions["engine"]
    with app.app_context():
        command.downgrade(_alembic(app), "0008")
        from procedures.core import db

        with db.session_scope() as session:
            division = add_division(session, "市民課")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO procedure (name, name_key, division_id, extra, verdict, "
                    "blockers, lifecycle, version, volume_is_estimate, mynaportal_eligible, "
                    "created_at, updated_at) VALUES ('転入届', '転入届', :division, :extra, "
                    "'undecided', '', 'active', 1, false, false, :now, :now)"
                ),
                {
                    "division": division,
                    "extra": '{"法令番号":"昭和四十二年法律第八十一号","経由機関":"1 国"}',
                    "now": "2026-12-01 09:00:00",
                },
            )
        command.upgrade(_alembic(app), "head")
        with db.session_scope() as session:
            [stored] = session.execute(text("SELECT extra FROM procedure")).scalars().all()
            assert extra_attributes(session, stored) == [
                ("法令番号", "昭和四十二年法律第八十一号"),
                ("経由機関", "1 国"),
            ]
            ids = dict(session.execute(select(ExtraHeader.text, ExtraHeader.id)).all())
            law, via = ids["法令番号"], ids["経由機関"]
            assert stored == f'{{"{law}":"昭和四十二年法律第八十一号","{via}":"1 国"}}'
        command.downgrade(_alembic(app), "0008")
        with engine.connect() as connection:
            assert connection.execute(text("SELECT extra FROM procedure")).scalar_one() == (
                '{"法令番号":"昭和四十二年法律第八十一号","経由機関":"1 国"}'
            )
        command.upgrade(_alembic(app), "head")


def test_procedures_there_before_0014_get_their_application_step_from_their_status(app):
    from alembic import command
    from conftest import add_division
    from sqlalchemy import text

    from procedures.core import db

    engine = app.extensions["engine"]
    with app.app_context():
        command.downgrade(_alembic(app), "0012")
        with db.session_scope() as session:
            division = add_division(session, "市民課")
        with engine.begin() as connection:
            for name, status in [("転入届", "done"), ("転出届", "not_done"), ("閲覧", None)]:
                connection.execute(
                    text(
                        "INSERT INTO procedure (name, name_key, division_id, online_status, "
                        "verdict, blockers, lifecycle, version, volume_is_estimate, "
                        "mynaportal_eligible, created_at, updated_at) VALUES (:name, :name, "
                        ":division, :status, 'undecided', '', 'active', 1, false, false, :now, "
                        ":now)"
                    ),
                    {"name": name, "division": division, "status": status, "now": "2026-12-01"},
                )
        command.upgrade(_alembic(app), "head")
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT name, steps, online_volume FROM procedure ORDER BY id")
            ).all()
    assert [tuple(row) for row in rows] == [
        ("転入届", '{"application":"online"}', None),
        ("転出届", '{"application":"offline"}', None),
        ("閲覧", None, None),
    ]
