# Image for compose.yaml (Docker users only; the Makefile runs everything natively).
FROM python:3.11-slim
WORKDIR /app
COPY schemas/ schemas/
COPY pyproject.toml README.md ./
COPY services/ services/
COPY infra/ infra/
RUN pip install --no-cache-dir ./schemas . && useradd --system hub && mkdir /state && chown hub /state
USER hub
