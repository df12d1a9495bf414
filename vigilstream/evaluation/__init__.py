"""``vigilstream evaluate``: replay a cohort through the processing core and score it.

``replay`` runs the worker's own pure core (``streams.normalize.Ingestor`` then
``alerts.patient_loop.apply_event``) over the messages in delivery order, and the two baselines
beside it; ``scoring`` matches alerts to ground-truth episodes (rules in EVALUATION.md);
``report`` prints the table, the JSON of docs/spec.md and the HTML report with plots.
"""
