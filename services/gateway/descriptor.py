"""The gateway as the suite runs it (`shared.service`): the HTTP API, users, sign-in and the
audit trail. It keeps no personal data of residents and holds no PII key."""

from pathlib import Path

from shared.service import ServiceDescriptor

GATEWAY = ServiceDescriptor(
    name="gateway",
    entrypoint="services.gateway.service:GatewayService",
    migrations=Path(__file__).resolve().parent / "migrations",
    keys=("EHR_TOKEN_KEY", "EHR_AUDIT_KEY", "EHR_SERVICE_KEY"),
    settings=("EHR_GATEWAY_HOST", "EHR_GATEWAY_PORT", "EHR_TOKEN_LIFETIME", "EHR_LOCKOUT_THRESHOLD",
              "EHR_LOCKOUT_SECONDS", "EHR_SIGN_IN_WINDOW", "EHR_SIGN_IN_PER_ADDRESS", "EHR_SIGN_IN_PER_USER",
              "EHR_MAX_BODY_BYTES", "EHR_GRANT_LIFETIME", "EHR_GRANT_DAILY_LIMIT"),
    http=True,
)
