# syntax=docker/dockerfile:1
#
# One image for every process of the suite: `ehr run registry|records|gateway`, `ehr migrate`.
# Nothing secret is baked in: keys, passwords and URLs come from the EHR_* environment at run
# time (see docker-compose.yml and shared/config.py).
#
#   docker build -t ehr-suite .
#   docker run --rm ehr-suite keys            # fresh keys, one per purpose (lines of .env)

# ---- build: install the project and its pinned dependencies into a virtualenv -------------
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src

# Dependencies first, from the runtime lock alone (every package pinned with its hashes: pip
# refuses anything else), so that a code change does not reinstall them. Not the test lock:
# no pytest, no Faker (the demo feed), and .dockerignore leaves out the benchmarks and tests.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

COPY . .
RUN pip install --no-deps .

# ---- runtime: the virtualenv only, no sources, no build tools, not root -------------------
FROM python:3.11-slim

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

RUN groupadd --system --gid 10001 ehr \
    && useradd --system --uid 10001 --gid ehr --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin ehr

# The printed documents (居民健康档案信息卡, 封面) are made as PDF by WeasyPrint, which needs
# Pango, and set in Debian's CJK font: nothing is fetched from the network when printing.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*

COPY --from=build /opt/venv /opt/venv

# Keys, passwords and URLs come from the environment only; `ehr run <service>` refuses to start
# without that service's keys (its descriptor, services/<name>/descriptor.py) and drops any other key it is
# given. The working directory is not writable by the user.
WORKDIR /app

USER 10001:10001

# The gateway's HTTP port (EHR_GATEWAY_PORT); the other services only talk AMQP.
EXPOSE 8000

ENTRYPOINT ["ehr"]
CMD ["--help"]
