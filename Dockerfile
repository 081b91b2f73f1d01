# Airbyte's Python connector base image, pinned by digest (the same reference as
# connectorBuildOptions.baseImage in metadata.yaml). BASE_IMAGE can name another image for builds
# without registry access. That image needs Python 3.11 with `pip` on PATH installing into an
# environment that root may write to, and a user named `airbyte`.
# NOTE: the Python patch version of the pinned image is not verified here. On Pythons older than
# 3.11.8 the connector serializes ast parsing itself (run.py), so either way it avoids CPython
# issue 106905.
ARG BASE_IMAGE=docker.io/airbyte/python-connector-base:4.0.2@sha256:9fdb1888c4264cf6fee473649ecb593f56f58e5d0096a87ee0b231777e2e3e73
FROM ${BASE_IMAGE}

# Airbyte's base image definition (docker-images/Dockerfile.python-connector-base in
# airbytehq/airbyte) creates the user `airbyte` (uid 1000), sets no USER, and its pip installs
# into the system site-packages. Install as root, whatever user a base sets, then run the
# connector as `airbyte`, as Airbyte's own Python connector images do.
USER root
WORKDIR /airbyte/integration_code
COPY setup.py README.md ./
COPY source_partner_clients ./source_partner_clients
RUN pip install --no-cache-dir .

ENV AIRBYTE_ENTRYPOINT="source-partner-clients"
ENTRYPOINT ["source-partner-clients"]

LABEL io.airbyte.name=airbyte/source-partner-clients
LABEL io.airbyte.version=0.1.0

USER airbyte
