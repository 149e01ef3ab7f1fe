"""Synthetic residents and hospital encounters (valid GB 11643 numbers, Chinese names) for the
demo feed, the tests and the benchmarks. Nothing here is real personal data."""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

try:
    from faker import Faker
except ModuleNotFoundError as exc:  # the production image installs the runtime lock only
    raise ModuleNotFoundError("the synthetic feed (`ehr demo`, `ehr up --demo`) needs Faker, which the "
                              "production image leaves out: pip install 'ehr-suite[demo]'", name="faker") from exc

from shared.clock import CHINA_TIME
from shared.identity import check_character

CST = CHINA_TIME

DIAGNOSES = [
    ("I10", "原发性高血压"), ("E11.9", "2型糖尿病"), ("J06.9", "急性上呼吸道感染"),
    ("K29.7", "胃炎"), ("M54.5", "腰痛"), ("I25.1", "冠状动脉粥样硬化性心脏病"), ("J44.9", "慢性阻塞性肺疾病"),
]
DRUGS = [("氨氯地平片", "5mg"), ("二甲双胍片", "0.5g"), ("阿司匹林肠溶片", "100mg"), ("奥美拉唑肠溶胶囊", "20mg")]
DEPARTMENTS = ["心内科", "内分泌科", "全科", "呼吸内科", "消化内科", "骨科"]


@dataclass
class Resident:
    name: str
    sex: str
    birth_date: date
    id_number: str
    phone: str
    village_code: str
    institution_code: str

    def archive_request(self) -> dict:
        return {"name": self.name, "sex": self.sex, "birth_date": self.birth_date.isoformat(),
                "id_type": "01", "id_number": self.id_number, "phone": self.phone,
                "village_code": self.village_code, "institution_code": self.institution_code}


def medical_record_number(hospital_code: str, resident: Resident) -> str:
    """The hospital's own number for this patient: the same at every visit, as in a real HIS."""
    return "MRN" + hashlib.sha256(f"{hospital_code}:{resident.id_number}".encode()).hexdigest()[:10].upper()


def make_id_number(rng: random.Random, address_code: str, birth: date, sex: str) -> str:
    seq = rng.randrange(0, 500) * 2 + (1 if sex == "1" else 0)
    seq = seq if seq > 0 else 2
    first17 = f"{address_code}{birth:%Y%m%d}{seq:03d}"
    return first17 + check_character(first17)


class Synthesizer:
    # Every ID number any synthesizer of this process has given out. An unseeded synthesizer never
    # gives out one of them again (its numbers are random anyway), so residents drawn in one process
    # (a test run, a benchmark) stay distinct people however many synthesizers draw them; a seeded
    # one only records its numbers, so that a seed still gives the same residents.
    _drawn: set[str] = set()

    def __init__(self, seed: int | None = None) -> None:
        self.rng = random.Random(seed)
        self.fake = Faker("zh_CN")
        self.fake.seed_instance(seed)
        self._used: set[str] = set() if seed is not None else Synthesizer._drawn

    def resident(self, village_code: str, institution_code: str, *, born: date | None = None,
                 sex: str | None = None) -> Resident:
        """A resident of random sex and birth date (1935-2019), unless given."""
        for _ in range(10_000):
            sex = sex or self.rng.choice(["1", "2"])
            birth = born or date(1935, 1, 1) + timedelta(days=self.rng.randrange(0, 365 * 85))
            id_number = make_id_number(self.rng, village_code[:6], birth, sex)
            if id_number not in self._used:
                self._used.add(id_number)
                Synthesizer._drawn.add(id_number)
                break
        else:
            raise ValueError(f"no ID number left for one born {birth} of sex {sex} in {village_code[:6]}")
        name = self.fake.name_male() if sex == "1" else self.fake.name_female()
        phone = "1" + self.rng.choice("3578") + "".join(self.rng.choice("0123456789") for _ in range(9))
        return Resident(name, sex, birth, id_number, phone, village_code, institution_code)

    def encounter(self, resident: Resident, hospital_code: str, kind: str = "outpatient",
                  record_id: str | None = None, started_at: datetime | None = None) -> dict:
        started = started_at or datetime.now(CST) - timedelta(minutes=self.rng.randrange(0, 60 * 24 * 30))
        code, name = self.rng.choice(DIAGNOSES)
        drug, dose = self.rng.choice(DRUGS)
        return {
            "schema": "ehr.encounter/1",
            "source": {"institution_code": hospital_code, "system": "HIS",
                       "record_id": record_id or f"OP-{started:%Y%m%d}-{uuid.uuid4().hex[:10]}"},
            "patient": {"id_type": "01", "id_number": resident.id_number, "name": resident.name,
                        "sex": resident.sex, "birth_date": resident.birth_date.isoformat(),
                        "phone": resident.phone, "health_card_no": None, "insurance_card_no": None,
                        "mrn": medical_record_number(hospital_code, resident)},
            "encounter": {
                "kind": kind,
                "started_at": started.isoformat(timespec="seconds"),
                "ended_at": (started + timedelta(minutes=20)).isoformat(timespec="seconds"),
                "department": self.rng.choice(DEPARTMENTS), "clinician": self.fake.last_name() + "医生",
                "chief_complaint": "头晕三天",
                "diagnoses": [{"system": "ICD-10", "code": code, "name": name, "primary": True}],
                "vital_signs": {"sbp": self.rng.randrange(100, 170), "dbp": self.rng.randrange(60, 105),
                                "heart_rate": self.rng.randrange(55, 100)},
                "prescriptions": [{"drug": drug, "dose": dose, "route": "口服", "frequency": "qd", "days": 30}],
                "summary": "门诊随诊",
            },
        }


def encode(body: dict) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()
