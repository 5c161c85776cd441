"""Speed and detection-quality measurements of Guard against flaskapi-guard.

``python -m benchmarks`` times the detector and the Flask extension and prints one table;
``python -m benchmarks.quality CORPUS.jsonl`` scores both detectors on a labelled corpus. Both
run from ``.venv-bench`` (see ``benchmarks/setup.sh``), where flaskapi-guard is installed; in any
other environment the missing engine's column reads "n/a".
"""
