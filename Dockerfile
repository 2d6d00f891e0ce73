# Production image: gunicorn serving src.app:create_app() on port 5000.
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
CMD ["gunicorn", "--bind", "0.0.0.0:5000", "--workers", "4", "--access-logfile", "-", "src.app:create_app()"]
