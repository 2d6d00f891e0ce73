# Production image: granian serving src.app:create_app on port 5000 (src/serve.py).
FROM python:3.11-slim AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    APP_ENV=production

WORKDIR /app
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY src ./src
COPY migrations ./migrations
COPY bin/docker-entrypoint.sh ./bin/docker-entrypoint.sh
COPY .flaskenv ./

RUN useradd --create-home --uid 10001 billing \
    && mkdir -p /app/instance && chown billing /app/instance
USER billing

EXPOSE 5000
HEALTHCHECK --interval=30s --timeout=5s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5000/api/v1/health')"
ENTRYPOINT ["bin/docker-entrypoint.sh"]
# Every wait a request makes has its own limit (pool 10 s, statements 5 s, Stripe 5 s x 2),
# checked at start against PROVIDER_LEASE_SECONDS (30 s). WEB_CONCURRENCY: one worker per
# core. A job worker is the same image with CMD ["flask", "worker", "--concurrency", "4"]
# (see docker-compose.yml).
ENV HOST=0.0.0.0 PORT=5000 WEB_CONCURRENCY=4
CMD ["python", "-m", "src.serve"]
