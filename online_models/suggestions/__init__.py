"""Personalized activity suggestions, the patient-facing half of vigilstream (issue #12).

Pure like the rest of ``online_models``: time is a parameter, nothing here does I/O.

- ``zones``: heart-rate zones from the patient's *measured* resting heart rate (Karvonen), or
  perceived exertion where heart rate is not a guide (beta-blockers, atrial fibrillation);
- ``goals``: an adaptive daily step goal from the patient's own recent days;
- ``safety``: the gate a clinical safety officer reads first — when no exertion may be
  suggested, and why.
"""
