# syntax=docker/dockerfile:1
#
# One image for every process of the suite: `ehr run registry|records|gateway`, `ehr migrate`.
# Nothing secret is baked in: keys, passwords and URLs come from the EHR_* environment at run
# time (see docker-compose.yml and shared/config.py).
#
#   docker build -t ehr-suite .
#   docker run --rm ehr-suite keys            # a fresh EHR_PII_KEY / EHR_INDEX_KEY pair

# ---- build: install the project and its pinned dependencies into a virtualenv -------------
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src

# Dependencies first, from pyproject.toml alone, so that a code change does not reinstall them.
# --pre: nameko 3 is a pre-release.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install --pre -r /tmp/requirements.txt

COPY . .
RUN pip install --pre .

# ---- runtime: the virtualenv only, no sources, no build tools, not root -------------------
FROM python:3.11-slim

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

RUN groupadd --system --gid 10001 ehr \
    && useradd --system --uid 10001 --gid ehr --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin ehr

COPY --from=build /opt/venv /opt/venv

# The working directory belongs to root and is read-only for the service user: `ehr run`
# falls back to writing fresh keys under ./var when EHR_PII_KEY/EHR_INDEX_KEY are missing,
# which in a container would silently give each container its own keys. Here it fails instead.
WORKDIR /app

USER 10001:10001

# The gateway's HTTP port (EHR_GATEWAY_PORT); the other services only talk AMQP.
EXPOSE 8000

ENTRYPOINT ["ehr"]
CMD ["--help"]
