"""What a data engineer needs to follow a run: each task's timing in ``registry.task_run``
(:mod:`aiguillage.observability.task_runs`) and log lines that say which run, day and DAG they
belong to (:mod:`aiguillage.observability.log_context`).

Imported by DAG files at parse time (through ``dag_defaults``): standard library only here.
"""
