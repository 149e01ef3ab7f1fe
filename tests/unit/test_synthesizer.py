"""The synthetic residents of tests, benchmarks and the demo: a seed gives the same residents;
unseeded synthesizers of one process never give one ID number twice, even for one birth date
(a county, a day and a sex leave about 500 numbers: many test modules draw residents born on
one day, and a run's registry refuses the second archive of a number)."""

from datetime import date

import pytest

from ehr.synthetic import Synthesizer

VILLAGE, CLINIC = "110105003001", "C1101050031"
BORN = date(1950, 6, 15)


def test_a_seed_gives_the_same_residents_whatever_was_drawn_before():
    first = [Synthesizer(seed=5).resident(VILLAGE, CLINIC, born=BORN, sex="1").id_number for _ in range(2)]
    for _ in range(50):
        Synthesizer().resident(VILLAGE, CLINIC, born=BORN, sex="1")
    again = Synthesizer(seed=5).resident(VILLAGE, CLINIC, born=BORN, sex="1").id_number
    assert first[0] == first[1] == again


def test_unseeded_synthesizers_never_give_one_number_twice_for_one_birth_date():
    drawn = [Synthesizer().resident(VILLAGE, CLINIC, born=BORN, sex="2").id_number for _ in range(300)]
    assert len(set(drawn)) == len(drawn)
    assert all(number[6:14] == "19500615" and int(number[16]) % 2 == 0 for number in drawn)


def test_when_a_day_has_no_number_left_it_says_so_rather_than_looping():
    synth = Synthesizer(seed=9)  # its own numbers: the day is used up for it alone
    born = date(1951, 2, 3)
    with pytest.raises(ValueError, match="no ID number left"):
        for _ in range(600):
            synth.resident(VILLAGE, CLINIC, born=born, sex="1")
