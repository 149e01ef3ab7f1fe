"""The programmes service as the suite runs it (`shared.service`): the key-population programmes
(重点人群健康管理): enrolment, follow-up schedules, work lists and figures. It learns of residents
and their records from the registry's and records' events on its work queue, and keeps no
identifying data (no name, ID or phone number), so it holds no PII key."""

from pathlib import Path

from shared.service import ServiceDescriptor

PROGRAMMES = ServiceDescriptor(
    name="programmes",
    entrypoint="services.programmes.service:ProgrammesService",
    migrations=Path(__file__).resolve().parent / "migrations",
    keys=("EHR_SERVICE_KEY",),
    queues=("programmes.events",),
)
