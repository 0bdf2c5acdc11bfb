# Aiguillage's Airflow image: the official Airflow 3.3 image + the project's pinned dependencies
# + the aiguillage package. Built by `docker compose build` (context: the repository root).
#
# Keep the tag below equal to the apache-airflow version pinned in requirements.lock
# (tests/test_docker_compose.py checks it).
FROM apache/airflow:3.3.2-python3.11

# Folders the compose file mounts volumes on. Created here, owned by airflow:root and group-writable
# (the image convention), so that fresh named volumes inherit usable permissions.
USER root
RUN mkdir -p /opt/aiguillage/state /opt/aiguillage/landing /opt/aiguillage/outbox \
        /opt/aiguillage/dbt_project /opt/aiguillage/expectations /opt/aiguillage/src /opt/airflow/auth \
    && chown -R airflow:0 /opt/aiguillage /opt/airflow/auth \
    && chmod -R g+rwX /opt/aiguillage /opt/airflow/auth
USER airflow

# 1. Dependencies, exactly as locked (uv pip compile), the Celery provider included. The lock also
#    pins apache-airflow==3.3.2, the version of the base image, so Airflow itself is left as it is.
COPY --chown=airflow:0 requirements.lock /opt/aiguillage/requirements.lock
RUN pip install --no-cache-dir -r /opt/aiguillage/requirements.lock

# 2. The aiguillage package itself, without dependencies (they are all in the layer above).
COPY --chown=airflow:0 pyproject.toml README.md /opt/aiguillage/src/
COPY --chown=airflow:0 plugins/ /opt/aiguillage/src/plugins/
RUN pip install --no-cache-dir --no-deps /opt/aiguillage/src

# 3. The project files, so that the image also runs without bind mounts (docker-compose.yml mounts
#    the working copies over them for development).
COPY --chown=airflow:0 dags/ /opt/airflow/dags/
COPY --chown=airflow:0 plugins/ /opt/airflow/plugins/
COPY --chown=airflow:0 dbt_project/ /opt/aiguillage/dbt_project/
COPY --chown=airflow:0 expectations/ /opt/aiguillage/expectations/

ENV AIGUILLAGE_HOME=/opt/aiguillage/state \
    AIGUILLAGE_LANDING_DIR=/opt/aiguillage/landing \
    AIGUILLAGE_OUTBOX_DIR=/opt/aiguillage/outbox \
    AIGUILLAGE_DBT_PROJECT_DIR=/opt/aiguillage/dbt_project \
    AIGUILLAGE_EXPECTATIONS_DIR=/opt/aiguillage/expectations
