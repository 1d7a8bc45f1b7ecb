# lianke-bridge for a Raspberry Pi (arm64, armv7) or any amd64 host.
# Every dependency is pure Python or ships arm wheels, so the build needs no compiler.
FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY lianke_bridge ./lianke_bridge
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.12-slim
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
RUN useradd --system --uid 1000 --home-dir /data --shell /usr/sbin/nologin lianke \
    && mkdir -p /data && chown lianke /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER lianke
WORKDIR /data
VOLUME ["/data"]
# The configuration lives in /data/config.yaml; state (what was published, jobs) in /data/state.
# Healthy while the bridge runs and is connected to its broker (a heartbeat file it rewrites
# every minute); a cloud outage is not a reason to restart the container.
HEALTHCHECK --interval=60s --timeout=10s --start-period=90s --retries=3 \
    CMD ["lianke-bridge", "health", "-c", "/data/config.yaml"]
ENTRYPOINT ["lianke-bridge"]
CMD ["run", "-c", "/data/config.yaml"]
