"""The distributed Airflow stack on one machine: api-server, scheduler, dag-processor, triggerer and
Celery workers, with Redis as the broker and PostgreSQL for Airflow's metadata and Celery's results.

``aiguillage stack start`` starts it, ``aiguillage stack run`` runs days through it the way production
does (the first DAG is triggered, the others follow through their assets), ``aiguillage stack stop``
stops it. docker-compose.yml runs the same components in containers.
"""
