"""``vigilstream simulate``: a deterministic synthetic cohort of wearable streams with ground truth.

``cohort`` draws the patients, ``episodes`` plans deteriorations and benign surprises,
``physiology`` turns both into minute-by-minute vitals, ``device`` samples them the way a
wearable and a phone gateway deliver them (artefacts, dropouts, late and out-of-order syncs,
duplicates, malformed messages), and ``recording`` writes the result as JSONL or to Kafka.
Everything is a function of the seed; nothing reads the clock.
"""

from vigilstream.simulation.recording import Cohort, Envelope, simulate

__all__ = ["Cohort", "Envelope", "simulate"]
