"""`ehr import residents`: whole archives or none, every rejected row with its reason."""

import csv
import json

from click.testing import CliRunner

from ehr.cli import main
from ehr.synthetic import Synthesizer
from tests.support.db import query

VILLAGE, MANAGER = "110105201101", "T1101052011"


def write_register(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["name", "sex", "birth_date", "id_type", "id_number", "phone",
                                               "village_code", "institution_code"])
        writer.writeheader()
        writer.writerows(rows)


def test_a_register_is_imported_whole_archives_only_with_each_rejection_explained(suite_env, tmp_path):
    synth = Synthesizer()
    good = [synth.resident(VILLAGE, MANAGER).archive_request() for _ in range(25)]
    bad_check = {**synth.resident(VILLAGE, MANAGER).archive_request()}
    bad_check["id_number"] = bad_check["id_number"][:-1] + ("0" if bad_check["id_number"][-1] != "0" else "1")
    unknown_village = {**synth.resident(VILLAGE, MANAGER).archive_request(), "village_code": "110105201199"}
    repeated = dict(good[3])
    rows = good[:10] + [bad_check] + good[10:20] + [unknown_village, repeated] + good[20:]
    path = tmp_path / "register.csv"
    write_register(path, rows)
    before = query("registry", "SELECT coalesce(max(last_serial), 0) FROM archive_serials WHERE village_code = :v",
                   v=VILLAGE)[0][0]

    result = CliRunner().invoke(main, ["import", "residents", str(path), "--chunk", "7"])
    assert result.exit_code == 0, result.output
    assert "25 archives created, 3 rejected" in result.output
    rejected = json.loads((tmp_path / "register.csv.rejected.json").read_text())
    assert [r["line"] for r in rejected] == [12, 23, 24]  # header is line 1
    assert "id_number" in rejected[0]["errors"] and "village_code" in rejected[1]["errors"]
    assert "earlier line" in rejected[2]["errors"]["id_number"][0]
    assert bad_check["id_number"] not in json.dumps(rejected) and good[3]["id_number"] not in result.output

    serials = [r[0] for r in query("registry", "SELECT last_serial FROM archive_serials WHERE village_code = :v",
                                   v=VILLAGE)]
    assert serials == [before + 25]  # consecutive, no gaps from rejected rows
    assert query("registry", "SELECT count(*) FROM archive_revisions r JOIN archives a USING (archive_no) "
                             "WHERE a.village_code = :v AND r.reason = 'imported'", v=VILLAGE)[0][0] >= 25

    again = CliRunner().invoke(main, ["import", "residents", str(path)])
    assert "0 archives created, 28 rejected" in again.output  # everything is there already
