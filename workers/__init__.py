"""The Celery application that runs :mod:`pipelines` stages on events from web processes."""
