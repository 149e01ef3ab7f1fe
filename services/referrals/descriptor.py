"""The referrals service as the suite runs it (`shared.service`): 双向转诊 (referrals out and back)
and 会诊 (consultations) between institutions, with hospitals taking part over RabbitMQ
(`ehr.referrals` out, `ehr.referral-answers` in). It keeps no identifying data (no name, ID or
phone number), so it holds no PII key."""

from pathlib import Path

from shared.service import ServiceDescriptor

REFERRALS = ServiceDescriptor(
    name="referrals",
    entrypoint="services.referrals.service:ReferralsService",
    migrations=Path(__file__).resolve().parent / "migrations",
    keys=("EHR_SERVICE_KEY",),
    queues=("referrals.events", "referrals.answers"),
)
