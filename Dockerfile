# Airbyte's Python connector base image, pinned by digest. BASE_IMAGE can name another image with
# Python 3.11 and pip, for builds without registry access.
# NOTE: this image's Python patch version is not verified here. On Pythons older than 3.11.8 the
# connector serializes ast parsing itself (run.py), so either way it avoids CPython issue 106905.
ARG BASE_IMAGE=docker.io/airbyte/python-connector-base:4.0.2@sha256:9fdb1888c4264cf6fee473649ecb593f56f58e5d0096a87ee0b231777e2e3e73
FROM ${BASE_IMAGE}

WORKDIR /airbyte/integration_code
COPY setup.py README.md ./
COPY source_partner_clients ./source_partner_clients
RUN pip install --no-cache-dir .

ENV AIRBYTE_ENTRYPOINT="source-partner-clients"
ENTRYPOINT ["source-partner-clients"]

LABEL io.airbyte.name=airbyte/source-partner-clients
LABEL io.airbyte.version=0.1.0
