"""``vigilstream bench``: how fast ingest is, in the core and through the broker.

1. Core: microseconds per reading of the pure ``Ingestor`` for each input format (parse,
   validate, convert, check, de-duplicate), one core, no I/O.
2. Pipeline: the same pre-produced messages consumed by (a) a bare Faust agent that forwards
   bytes unchanged (``streams/bare.py``) and (b) the vigilstream worker, one after the other on
   the same embedded broker in the same run. The rate is the output count divided by the span
   of the output records' timestamps, so start-up and group joins are not counted.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

from vigilstream.config import Settings
from vigilstream.localstack import LocalStack, free_port


def _native(i: int, now: float) -> dict[str, Any]:
    return {"patient_id": f"p-{i % 500:04d}", "device_id": "watch", "signal": "heart_rate",
            "value": 60 + i % 40, "unit": "bpm", "ts": now - 600 + i * 0.001, "seq": i}  # fmt: skip


def _batch(i: int, now: float, size: int) -> dict[str, Any]:
    return {"patient_id": f"p-{i % 500:04d}", "device_id": "phone", "readings": [
        {"signal": "heart_rate", "value": 60 + k % 40, "ts": now - 7200 + i * 0.5 + k * 0.001}
        for k in range(size)]}  # fmt: skip


def _fhir(i: int, now: float) -> dict[str, Any]:
    from datetime import UTC, datetime

    return {"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
            "subject": {"reference": f"Patient/p-{i % 500:04d}"},
            "effectiveDateTime": datetime.fromtimestamp(now - 600 + i * 0.001, UTC).isoformat(),
            "valueQuantity": {"value": 60 + i % 40, "code": "/min"}}  # fmt: skip


def _omh(i: int, now: float) -> dict[str, Any]:
    from datetime import UTC, datetime

    when = datetime.fromtimestamp(now - 600 + i * 0.001, UTC).isoformat()
    return {"header": {"schema_id": {"namespace": "omh", "name": "heart-rate", "version": "2.0"},
                       "user_id": f"p-{i % 500:04d}"},
            "body": {"heart_rate": {"value": 60 + i % 40, "unit": "beats/min"},
                     "effective_time_frame": {"date_time": when}}}  # fmt: skip


def bench_core(n: int = 20_000) -> dict[str, float]:
    """Microseconds per reading of the pure ingest core, by input format (median of 5 runs)."""
    from streams.dedupe import DuplicateFilter
    from streams.normalize import Ingestor

    now = time.time()
    makers: dict[str, tuple[Callable[[int], dict[str, Any]], int]] = {
        "native": (lambda i: _native(i, now), 1),
        "batch_60": (lambda i: _batch(i, now, 60), 60),
        "fhir": (lambda i: _fhir(i, now), 1),
        "omh": (lambda i: _omh(i, now), 1),
    }
    out: dict[str, float] = {}
    for name, (make, per_message) in makers.items():
        messages = [json.dumps(make(i)).encode() for i in range(max(1, n // per_message))]
        runs = []
        for _ in range(5):
            ingestor = Ingestor(dedupe=DuplicateFilter())
            started = time.perf_counter()
            for raw in messages:
                ingestor.ingest(raw, now)
            runs.append((time.perf_counter() - started) / (len(messages) * per_message))
        out[name] = round(statistics.median(runs) * 1e6, 2)
    return out


def week_of_readings(seed: int, days: int = 7, start: float = 1_800_000_000.0) -> list[dict]:
    """A plausible week of one patient's wearable data, in event-time order (for the model
    benchmark; the full cohort simulator is ``vigilstream simulate``)."""
    import math as m
    import random

    rng = random.Random(seed)
    rest_hr, out = rng.uniform(55, 80), []
    for minute in range(days * 1440):
        ts = start + minute * 60.0
        hour = (minute % 1440) / 60.0
        asleep = hour < 6.5 or hour >= 23.0
        walking = not asleep and rng.random() < 0.08
        hr = rest_hr - (8 if asleep else 0) + (30 if walking else 0) + 4 * m.sin(hour / 24 * 6.28)
        out.append({"signal": "heart_rate", "value": round(hr + rng.gauss(0, 3), 1), "ts": ts})
        if not asleep:
            steps = rng.randint(80, 120) if walking else rng.choice((0, 0, 0, rng.randint(1, 30)))
            out.append({"signal": "steps", "value": steps, "ts": ts, "end_ts": ts + 60})
        if minute % 5 == 0:
            out.append({"signal": "spo2", "value": round(rng.gauss(96.5, 1.0), 1), "ts": ts})
            out.append({"signal": "respiratory_rate", "value": round(rng.gauss(15, 1.5)), "ts": ts})
        if minute % 30 == 0:
            out.append({"signal": "hrv_rmssd", "value": round(rng.gauss(40, 8), 1), "ts": ts})
        if minute % 1440 == 23 * 60:  # the night's sleep, reported as stages
            for k, stage in enumerate(("light", "deep", "light", "rem", "light", "deep", "rem")):
                a = ts + k * 4500.0
                out.append({"signal": "sleep", "value": {"stage": stage}, "ts": a,
                            "end_ts": a + 4500.0})  # fmt: skip
        if minute % 720 == 480:
            out.append({"signal": "body_temperature", "value": round(rng.gauss(36.6, 0.2), 2),
                        "ts": ts})  # fmt: skip
        if minute % 1440 == 540:
            bp = {"systolic": round(rng.gauss(122, 8)), "diastolic": round(rng.gauss(78, 5))}
            out.append({"signal": "blood_pressure", "value": bp, "ts": ts})
    return out


def bench_models(patients: int = 20, days: int = 7) -> dict[str, Any]:
    """Model update time per reading and serialized state size after ``days`` simulated days."""
    from online_models.state import PatientState

    per_reading: list[float] = []
    sizes: list[int] = []
    updates = 0
    for seed in range(patients):
        readings = week_of_readings(seed, days)
        state = PatientState(f"p-{seed}", {"age": 40 + seed * 2, "sex": "FM"[seed % 2]})
        for i in range(0, len(readings), 100):
            chunk = readings[i : i + 100]
            started = time.perf_counter()
            for r in chunk:
                state.update(r, r["ts"])
            state.maybe_snapshot(chunk[-1]["ts"])  # as the monitor does after each event
            per_reading.append((time.perf_counter() - started) / len(chunk))
        updates += len(readings)
        sizes.append(len(state.to_bytes()))
    sizes.sort()
    return {
        "patients": patients, "days": days, "readings": updates,
        "update_us_median": round(statistics.median(per_reading) * 1e6, 1),
        "update_us_p95": round(sorted(per_reading)[int(len(per_reading) * 0.95)] * 1e6, 1),
        "state_bytes_p50": sizes[len(sizes) // 2],
        "state_bytes_p95": sizes[min(len(sizes) - 1, int(len(sizes) * 0.95))],
    }  # fmt: skip


def bench_suggestions(patients: int = 20, days: int = 14, chunk: int = 10) -> dict[str, Any]:
    """The suggestion budgets of issue #12: a decision's cost (the situation, the safety gate
    and the bandit: p95 of the steps that decided), the suggestion state per patient, and the
    hot path with suggestions against the same path with them switched off."""
    import orjson

    from alerts.engine import AlertEngine
    from alerts.patient_loop import apply_event
    from online_models.risk import RiskModel
    from online_models.state import PatientState
    from online_models.suggestions.population import PopulationPrior
    from online_models.suggestions.suggester import Suggester, Suggestions

    class Off(Suggester):
        def step(self, *args: Any, **kwargs: Any) -> Suggestions:
            return Suggestions()

        def note_steps(self, *args: Any) -> None:
            """Switched off."""

    decisions: list[float] = []
    sizes: list[int] = []
    seconds = {"on": 0.0, "off": 0.0}
    readings = 0
    for seed in range(patients):
        data = week_of_readings(seed, days)
        events = [data[i : i + chunk] for i in range(0, len(data), chunk)]
        for mode in ("off", "on"):
            state = PatientState(f"p-{seed}", {"age": 40 + seed * 2, "tz": "Europe/Paris"})
            if mode == "off":
                state.suggester = Off(state.patient_id)
            engine, model = AlertEngine(state.patient_id), RiskModel()
            population = PopulationPrior()

            def timed(*args: Any, step: Any = state.suggester.step, **kwargs: Any) -> Suggestions:
                started = time.perf_counter()
                out = step(*args, **kwargs)
                if out.decisions:
                    decisions.append((time.perf_counter() - started) / len(out.decisions))
                return out

            state.suggester.step = timed  # type: ignore[method-assign]
            started = time.perf_counter()
            for event in events:
                apply_event({"readings": event}, state, engine, model, event[-1]["ts"], population)
            seconds[mode] += time.perf_counter() - started
            if mode == "on":
                readings += len(data)
                sizes.append(len(orjson.dumps(state.suggester.to_dict())))
    decisions.sort()
    sizes.sort()
    return {
        "patients": patients, "days": days, "decisions": len(decisions),
        "decision_ms_p50": round(decisions[len(decisions) // 2] * 1e3, 3),
        "decision_ms_p95": round(decisions[int(len(decisions) * 0.95)] * 1e3, 3),
        "state_bytes_p50": sizes[len(sizes) // 2],
        "state_bytes_p95": sizes[min(len(sizes) - 1, int(len(sizes) * 0.95))],
        "hot_path_us_per_reading": round(seconds["on"] / readings * 1e6, 2),
        "hot_path_overhead_pct": round((seconds["on"] / seconds["off"] - 1) * 100, 1),
    }  # fmt: skip


def _produce(settings: Settings, payloads: list[bytes]) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(**settings.kafka_client_options(), linger_ms=20,
                             batch_size=256 * 1024)  # fmt: skip
    for i, payload in enumerate(payloads):
        producer.send(settings.topic("vitals.raw"), payload, key=str(i % 64).encode())
    producer.flush()
    producer.close()


def _output_span(settings: Settings, topic: str, expected: int, timeout: float) -> dict[str, Any]:
    """Read ``expected`` records of a topic; their count and timestamp span (aiokafka)."""
    import asyncio

    from aiokafka import AIOKafkaConsumer

    async def read() -> tuple[list[int], int]:
        consumer = AIOKafkaConsumer(
            settings.topic(topic), bootstrap_servers=settings.bootstrap_servers,
            group_id=None, auto_offset_reset="earliest",
        )  # fmt: skip
        await consumer.start()
        stamps: list[int] = []
        readings = 0
        deadline = time.monotonic() + timeout
        try:
            while len(stamps) < expected and time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=500, max_records=5000)
                for records in batch.values():
                    for r in records:
                        stamps.append(r.timestamp)
                        readings += r.value.count(b'"signal"')
        finally:
            await consumer.stop()
        return stamps, readings

    stamps, readings = asyncio.run(read())
    span = (max(stamps) - min(stamps)) / 1000 if len(stamps) > 1 else float("nan")
    return {"events": len(stamps), "readings": readings, "span_s": span}


def _run(module: list[str], settings: Settings, topic: str, expected: int) -> dict[str, Any]:
    env = {**os.environ, "VIGIL_BROKER": settings.broker, "VIGIL_REDIS_URL": settings.redis_url,
           "VIGIL_TOPIC_PREFIX": settings.topic_prefix, "VIGIL_WEB_PORT": str(free_port()),
           "VIGIL_STATE_DIR": str(settings.state_dir), "VIGIL_LOG_LEVEL": "warning",
           "VIGIL_SESSION_TIMEOUT_S": "6", "VIGIL_REBALANCE_TIMEOUT_S": "6"}  # fmt: skip
    log = open(settings.state_dir / f"bench-{module[-1]}.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", *module], env=env, stdout=log, stderr=log)
    try:
        result = _output_span(settings, topic, expected, timeout=300)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
    result["events_per_s"] = round(result["events"] / result["span_s"])
    result["readings_per_s"] = round(result["readings"] / result["span_s"])
    return result


def bench_pipeline(settings: Settings, messages: int, batch_size: int) -> dict[str, Any]:
    """Bare Faust agent vs the ingest worker on the same pre-produced input."""
    now = time.time()
    results: dict[str, Any] = {}
    cases = {
        "single": [json.dumps(_native(i, now)).encode() for i in range(messages)],
        f"batch_{batch_size}": [
            json.dumps(_batch(i, now, batch_size)).encode() for i in range(messages // 4)
        ],
    }
    for case, payloads in cases.items():
        contenders = (
            ("bare_faust", ["streams.bare"], "bare.out"),
            ("vigilstream", ["vigilstream", "worker"], "vitals.clean"),
        )
        for name, module, topic in contenders:
            run = settings.model_copy(update={"topic_prefix": f"bench{uuid.uuid4().hex[:8]}."})
            _produce(run, payloads)
            results[f"{case}/{name}"] = _run(module, run, topic, expected=len(payloads))
        bare, ours = results[f"{case}/bare_faust"], results[f"{case}/vigilstream"]
        results[f"{case}/event_rate_vs_bare"] = round(
            ours["events_per_s"] / bare["events_per_s"], 2
        )
    return results


def run_bench(settings: Settings, messages: int, batch_size: int, as_json: bool) -> int:
    """Run both benchmarks and print a table (or one JSON object)."""
    core = bench_core()
    models = bench_models()
    suggestions = bench_suggestions()
    stack = LocalStack(settings.state_dir)
    started_stack = not all(stack.status().values())
    servers = stack.up()
    settings = settings.model_copy(
        update={"broker": servers["broker"].address, "redis_url": servers["redis"].address}
    )
    try:
        pipeline = bench_pipeline(settings, messages, batch_size)
    finally:
        if started_stack:
            stack.down()
    report = {"core_us_per_reading": core, "models": models, "suggestions": suggestions,
              "pipeline": pipeline,
              "cpu_count": os.cpu_count()}  # fmt: skip
    if as_json:
        print(json.dumps(report, indent=2))
        return 0
    print("ingest core, µs per reading (median of 5):")
    for name, us in core.items():
        print(f"  {name:<10} {us:8.2f}")
    print(f"patient models over {models['days']} simulated days ({models['patients']} patients, "
          f"{models['readings']} readings): update {models['update_us_median']} µs median, "
          f"{models['update_us_p95']} µs p95; state {models['state_bytes_p50']} B p50, "
          f"{models['state_bytes_p95']} B p95")  # fmt: skip
    sg = suggestions
    print(f"suggestions (budgets: decision <= 1 ms p95, state <= 2048 B p95, hot path <= +5 %): "
          f"decision {sg['decision_ms_p50']} ms p50, {sg['decision_ms_p95']} ms p95 "
          f"({sg['decisions']} decisions); state {sg['state_bytes_p50']} B p50, "
          f"{sg['state_bytes_p95']} B p95; hot path {sg['hot_path_us_per_reading']} µs per "
          f"reading, {sg['hot_path_overhead_pct']:+} % against suggestions off")  # fmt: skip
    print("pipeline on the embedded broker (rate over the output timestamps):")
    for name, row in pipeline.items():
        if isinstance(row, dict):
            print(f"  {name:<28} {row['events_per_s']:>8} events/s {row['readings_per_s']:>9} "
                  f"readings/s  ({row['events']} events in {row['span_s']:.2f} s)")  # fmt: skip
        else:
            print(f"  {name:<28} {row}")
    return 0
