# newsrag API and ingest image: slim, non-root, dependencies from the pinned constraints.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    RAG_DATA_DIR=/data

WORKDIR /app

# torch first, CPU build: a bare torch dependency would pull a multi-GB CUDA build.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0

COPY pyproject.toml constraints.txt README.md ./
COPY service ./service
COPY ingest ./ingest
RUN pip install -c constraints.txt . \
    && groupadd --gid 10001 newsrag \
    && useradd --no-log-init --create-home --uid 10001 --gid 10001 newsrag \
    && mkdir -p /data \
    && chown newsrag:newsrag /data

COPY seeds ./seeds

# Numeric uid: the runtime can check it is not root without reading /etc/passwd.
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=5 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["python", "-m", "service", "--host", "0.0.0.0", "--port", "8000"]
