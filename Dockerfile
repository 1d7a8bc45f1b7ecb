# lianke-bridge for a Raspberry Pi (linux/arm64, linux/arm/v7) or any linux/amd64 host.
# Every dependency installs without a compiler: wheels on amd64 and arm64; on arm/v7 PyYAML has
# no wheel and installs as pure Python (slower YAML parsing, once at start; nothing else changes).
# See docs/install/docker-compose.md and docs/raspberry-pi.md (docker-bake.hcl: every platform).

# python:3.12-slim-bookworm: a tag that stays on one Debian release (plain -slim moves).
FROM python:3.12-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
# config.example.yaml is package data (lianke_bridge/config.example.yaml links to it)
COPY pyproject.toml README.md LICENSE config.example.yaml ./
COPY lianke_bridge ./lianke_bridge
# the bridge and every dependency as wheels, so the runtime stage needs no build tools
RUN pip wheel --wheel-dir /wheels .

FROM python:3.12-slim-bookworm
# The bridge runs as uid 1000, gid 1000 (the first user of a Raspberry Pi OS, so a bind-mounted
# ./data of that user is writable as it is): /data must be writable by that uid.
ARG UID=1000
ARG GID=1000
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN groupadd --system --gid "${GID}" lianke \
    && useradd --system --uid "${UID}" --gid lianke --home-dir /data --shell /usr/sbin/nologin lianke \
    && mkdir -p /data /usr/share/lianke-bridge \
    && chown lianke:lianke /data
COPY --from=build /wheels /wheels
# only the wheels built above: no index, so the image holds exactly what was built
RUN pip install --no-index /wheels/*.whl && rm -rf /wheels
COPY config.example.yaml /usr/share/lianke-bridge/config.example.yaml
# OCI labels; docker-bake.hcl passes VERSION (the package's) and REVISION (the git commit).
# Declared late, so a new commit rebuilds no layer above.
ARG VERSION=dev
ARG REVISION=
LABEL org.opencontainers.image.title="lianke-bridge" \
      org.opencontainers.image.description="Lianke (链科) cloud printer boxes on MQTT, with Home Assistant discovery" \
      org.opencontainers.image.source="https://github.com/lianke-bridge/lianke-bridge" \
      org.opencontainers.image.url="https://github.com/lianke-bridge/lianke-bridge" \
      org.opencontainers.image.documentation="https://github.com/lianke-bridge/lianke-bridge#readme" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
USER ${UID}:${GID}
WORKDIR /data
VOLUME ["/data"]
# /data/config.yaml is the configuration (`lianke-bridge init -o /data/config.yaml` writes one);
# the state (discovery published, jobs followed, the heartbeat) goes to its state_dir, which is
# /data/data with the default `state_dir: data` (relative to the configuration file).
# Healthy while the bridge process runs and is connected to its broker (a heartbeat it rewrites
# every minute); unhealthy at once when /data cannot be written. A cloud outage is not a reason
# to restart the container.
HEALTHCHECK --interval=60s --timeout=10s --start-period=90s --retries=3 \
    CMD ["lianke-bridge", "health", "-c", "/data/config.yaml"]
ENTRYPOINT ["lianke-bridge"]
CMD ["run", "-c", "/data/config.yaml"]
