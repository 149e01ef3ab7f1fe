"""Registry migration 0006 on a database that has rows: no stored masked ID number is left that,
with the birth date beside it, would give the whole number; names are in their normal form."""

import json

import sqlalchemy as sa
from alembic import command

from services import service as descriptor_of
from shared.db import alembic_config, drop_database, ensure_database, make_engine
from tests.support.db import server_url

OLD_MASK, NEW_MASK = "110105********0184", "**************0184"  # of 110105196605070184
NAMES = [("11010500300100001", OLD_MASK, "张\u200b秀英", "zhang\u200bxiuying"),
         ("11010500300100002", "E12****78", "\u202eＬｉ\u3000 Ｍｉｎｇ\ufeff", "\u202eｌｉ\u3000 ｍｉｎｇ\ufeff"),
         ("11010500300100003", None, "张秀英", "zhangxiuying"),
         ("11010500300100004", None, "\u200b", "\u200b")]  # nothing left: kept as it is


def _insert_rows_of_0005(conn) -> None:
    conn.execute(sa.text("""
        INSERT INTO divisions (code, name, level) VALUES ('110105', '朝阳区', 'county');
        INSERT INTO divisions (code, name, level, parent_code) VALUES ('110105003', '乡', 'township', '110105');
        INSERT INTO divisions (code, name, level, parent_code) VALUES ('110105003001', '村', 'village', '110105003');
        INSERT INTO institutions (code, name, kind, division_code) VALUES ('C1101050031', '中心', 'township_centre', '110105003');
    """))
    for number, mask, name, pinyin in NAMES:
        conn.execute(sa.text(
            "INSERT INTO archives (archive_no, name, name_pinyin, sex, birth_date, id_type, id_number_enc, "
            "id_number_masked, village_code, institution_code, created_by) VALUES (:no, :name, :pinyin, "
            "'2', '1966-05-07', '01', '\\x01', :mask, '110105003001', 'C1101050031', 'doc01')"),
            {"no": number, "mask": mask, "name": name, "pinyin": pinyin})
    changes = [{"archive_no": [None, "11010500300100001"], "id_number": [None, OLD_MASK]},
               {"id_number": [OLD_MASK, "110105********0021"], "name": ["张秀英", "张秀瑛"]},
               {"id_number": [], "status": ["active", "terminated"]},
               {"status": ["terminated", "active"]}]
    for revision, change in enumerate(changes, 1):
        conn.execute(sa.text("INSERT INTO archive_revisions (archive_no, revision, actor_user, action, changes) "
                             "VALUES ('11010500300100001', :r, 'doc01', 'created', CAST(:c AS jsonb))"),
                     {"r": revision, "c": json.dumps(change)})
    conn.execute(sa.text(
        "INSERT INTO merges (surviving_archive_no, merged_archive_no, reason, merged_by, snapshot) VALUES "
        "('11010500300100002', '11010500300100001', '同一居民', 'doc01', CAST(:s AS jsonb))"),
        {"s": json.dumps({"archive_no": "11010500300100001", "id_number_masked": OLD_MASK, "name": "张秀英"})})


def test_migration_0006_drops_the_stored_masks_and_rewrites_the_kept_ones_to_the_last_four(run_id, suite_env):
    url = server_url(f"ehr_t{run_id}_registry_mask0006")
    ensure_database(url)
    engine = make_engine(url)
    try:
        config = alembic_config(descriptor_of("registry").migrations, url)
        command.upgrade(config, "0005")
        with engine.begin() as conn:
            _insert_rows_of_0005(conn)
        command.upgrade(config, "0006")
        with engine.connect() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("archives")}
            revisions = [row[0] for row in conn.execute(sa.text(
                "SELECT changes FROM archive_revisions ORDER BY revision"))]
            snapshot = conn.scalar(sa.text("SELECT snapshot FROM merges"))
            everything = " ".join(str(row) for table in ("archives", "archive_revisions", "merges")
                                  for row in conn.execute(sa.text(f"SELECT * FROM {table}")))
        assert "id_number_masked" not in columns
        assert revisions[0] == {"archive_no": [None, "11010500300100001"], "id_number": [None, NEW_MASK]}
        assert revisions[1] == {"id_number": [NEW_MASK, "**************0021"], "name": ["张秀英", "张秀瑛"]}
        assert revisions[2:] == [{"id_number": [], "status": ["active", "terminated"]},
                                 {"status": ["terminated", "active"]}]
        assert snapshot == {"archive_no": "11010500300100001", "id_number_masked": NEW_MASK, "name": "张秀英"}
        assert "110105****" not in everything and "E12" not in everything
        with engine.connect() as conn:
            names = conn.execute(sa.text("SELECT name, name_pinyin FROM archives ORDER BY archive_no")).all()
        assert [tuple(row) for row in names] == [("张秀英", "zhangxiuying"), ("Li Ming", "li ming"),
                                                 ("张秀英", "zhangxiuying"), ("\u200b", "\u200b")]

        command.downgrade(config, "0005")
        with engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT count(*) FROM archives WHERE id_number_masked IS NULL")) == 4
    finally:
        engine.dispose()
        drop_database(url)
