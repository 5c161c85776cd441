"""Analysis stages that run outside the request path (semantic analysis, anomaly statistics,
correlation, agent shipping). Pure functions and classes over events and a store; they import
neither Flask nor Celery."""
