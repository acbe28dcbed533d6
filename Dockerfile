# newsrag API and ingest image: slim, non-root, dependencies from the pinned constraints.
FROM python:3.11-slim

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
    && useradd --create-home --uid 10001 newsrag \
    && mkdir -p /data \
    && chown newsrag:newsrag /data

COPY seeds ./seeds

USER newsrag
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=5 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz').status == 200 else 1)"]
CMD ["python", "-m", "service", "--host", "0.0.0.0", "--port", "8000"]
