"""`python -m bench` and `ehr bench`: which benchmark runs at which sizes (nothing is timed here)."""

from __future__ import annotations

import os
import sys

import pytest
from click.testing import CliRunner

from bench.plan import plan
from ehr.cli import main


def test_no_argument_runs_every_benchmark_at_full_size():
    p = plan([])
    assert (p.which, p.encounters, p.workers, p.rate, p.steady_seconds, p.residents) == \
        ("all", 20000, 1, 1000, 15, 1_000_000)


def test_quick_all_keeps_the_registry_small_enough_for_two_minutes():
    assert plan(["--quick"]).residents < plan(["registry", "--quick"]).residents == 100_000


def test_quick_sizes_are_small_and_explicit_options_win():
    p = plan(["filing", "--quick", "--encounters", "800", "--workers", "2", "--rate", "50"])
    assert (p.which, p.encounters, p.workers, p.rate, p.steady_seconds) == ("filing", 800, 2, 50, 5)
    assert plan(["gateway", "--quick", "--seconds", "2"]).gateway_seconds == 2
    assert plan(["registry", "--residents", "5000"]).residents == 5000


@pytest.mark.parametrize("argv", [["nosuch"], ["filing", "--workers", "0"], ["--encounters", "-5"]])
def test_unknown_benchmarks_and_sizes_below_one_are_refused(argv):
    with pytest.raises(SystemExit) as exit_:
        plan(argv)
    assert exit_.value.code == 2


def test_ehr_bench_hands_every_argument_to_python_m_bench(monkeypatch):
    calls = []
    monkeypatch.setattr(os, "execv", lambda path, argv: calls.append((path, argv)))
    result = CliRunner().invoke(main, ["bench", "gateway", "--quick", "--seconds", "3"])
    assert result.exit_code == 0, result.output
    assert calls == [(sys.executable, [sys.executable, "-m", "bench", "gateway", "--quick", "--seconds", "3"])]


def test_ehr_bench_leaves_help_to_the_benchmarks(monkeypatch):
    calls = []
    monkeypatch.setattr(os, "execv", lambda path, argv: calls.append(argv))
    CliRunner().invoke(main, ["bench", "--help"])
    assert calls == [[sys.executable, "-m", "bench", "--help"]]


def test_the_registry_rows_of_the_summary_judge_each_figure_against_its_target():
    from bench.registry import measures

    rows = {m.name: m for m in measures(1_000_000, 4_000.0, by_id=[1.0] * 98 + [6.0, 7.0],
                                        scored=[20.0] * 100, by_name=[2.0] * 100, by_pinyin=[1.5] * 100)}
    assert rows["load rate at 1,000,000"].verdict == "0.80 MISSED"
    assert rows["resolve by ID number p99 at 1,000,000"].figure == "7.00 ms"
    assert rows["resolve by ID number p99 at 1,000,000"].verdict == "1.40 MISSED"
    assert rows["name search p95 at 1,000,000"].verdict == "0.04 met"
    assert rows["scored resolve p95 at 1,000,000"].target == ""
    assert measures(100_000, 5_500.0, [1.0], [1.0], [1.0], [1.0])[0].verdict == "1.10 met"


def test_programmes_is_a_benchmark_of_its_own_with_quick_sizes():
    full, quick = plan(["programmes"]), plan(["programmes", "--quick"])
    assert (full.which, full.enrolled, full.follow_ups) == ("programmes", 100_000, 3_000)
    assert (quick.enrolled, quick.follow_ups) == (10_000, 1_000)
    assert plan(["programmes", "--enrolled", "500", "--follow-ups", "40"]).follow_ups == 40
    with pytest.raises(SystemExit):
        plan(["programmes", "--follow-ups", "0"])


def test_the_programmes_benchmark_pages_to_the_20th_page_or_the_last():
    from bench.programmes import later_cursor, later_page

    assert (later_page(2281), later_page(120), later_page(0)) == (20, 3, 1)
    pages = iter([{"next": "c1"}, {"next": "c2"}, {"next": None}])
    assert later_cursor(lambda cursor: next(pages)) == "c2"


def test_web_is_a_benchmark_of_its_own_with_quick_samples():
    full, quick = plan(["web"]), plan(["web", "--quick"])
    assert (full.which, full.web_samples, quick.web_samples) == ("web", 100, 20)
    assert plan(["web", "--samples", "7"]).web_samples == 7
    with pytest.raises(SystemExit):
        plan(["web", "--samples", "0"])
