"""Per-patient online models (pure Python): personal baselines, digital phenotype, NEWS2,
anomaly and risk scores. No Faust, Kafka, Redis or clock: time is always a parameter."""
