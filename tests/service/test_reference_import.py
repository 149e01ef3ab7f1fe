"""`ehr import reference`: administrative divisions and institutions from CSV, checked whole and
imported all or nothing."""

from click.testing import CliRunner

from ehr.cli import main
from tests.support.db import query

DIVISIONS = "code,name,level,parent_code\n"
INSTITUTIONS = "code,name,kind,division_code,parent_code\n"


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_new_township_with_its_villages_and_institutions_is_imported(suite_env, tmp_path):
    divisions = write(tmp_path, "d.csv", DIVISIONS + "110105102101,上游村村民委员会,village,110105102\n"
                                                    "110105102,上游镇,township,110105\n"
                                                    "110105102901,上游镇其他,village,110105102\n"
                                                    "110105,北京市朝阳区（新名）,county,\n")
    institutions = write(tmp_path, "i.csv", INSTITUTIONS + "V1101051021,上游村卫生室,village_clinic,110105102101,T1101051021\n"
                                                           "T1101051021,上游镇卫生院,township_centre,110105102,\n")
    result = CliRunner().invoke(main, ["import", "reference", "--divisions", divisions, "--institutions", institutions])
    assert result.exit_code == 0, result.output
    assert "4 divisions and 2 institutions" in result.output

    rows = dict(query("registry", "SELECT code, parent_code FROM divisions WHERE code LIKE '110105102%'"))
    assert rows == {"110105102": "110105", "110105102101": "110105102", "110105102901": "110105102"}
    assert query("registry", "SELECT name FROM divisions WHERE code = '110105'")[0][0] == "北京市朝阳区（新名）"
    assert query("registry", "SELECT parent_code FROM institutions WHERE code = 'V1101051021'")[0][0] == "T1101051021"


def test_one_wrong_row_imports_nothing_and_every_problem_is_named_by_line(suite_env, tmp_path):
    divisions = write(tmp_path, "d.csv", DIVISIONS + "110105103,下游镇,township,110105\n"        # line 2: fine
                                                    "110105103101,下游村,village,110105101\n"   # 3: not its prefix
                                                    "11010510,半截,township,110105\n"           # 4: 8 digits
                                                    "110105103250,编号不合,village,110105103\n"  # 5: no such range
                                                    "110105103,重复,township,110105\n")         # 6: twice
    institutions = write(tmp_path, "i.csv", INSTITUTIONS + "T1101051031,下游镇卫生院,township_centre,110105999,\n"
                                                           "X1,某机构,pharmacy,110105103,\n")
    result = CliRunner().invoke(main, ["import", "reference", "--divisions", divisions, "--institutions", institutions])
    assert result.exit_code == 1
    assert "nothing was imported" in result.output
    for expected in ("divisions line 3", "divisions line 4", "divisions line 5", "divisions line 6",
                     "institutions line 2", "institutions line 3"):
        assert expected in result.output, result.output
    assert "divisions line 2:" not in result.output
    assert query("registry", "SELECT count(*) FROM divisions WHERE code LIKE '110105103%'")[0][0] == 0
    assert query("registry", "SELECT count(*) FROM institutions WHERE code = 'T1101051031'")[0][0] == 0


def test_a_file_without_the_needed_columns_is_refused(suite_env, tmp_path):
    divisions = write(tmp_path, "d.csv", "code,name\n110105104,某镇\n")
    result = CliRunner().invoke(main, ["import", "reference", "--divisions", divisions])
    assert result.exit_code == 1 and "the header lacks level" in result.output
    assert CliRunner().invoke(main, ["import", "reference"]).exit_code == 2
