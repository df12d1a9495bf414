"""The ``vigilstream`` command line (docs/spec.md, "CLI").

Every error is one readable line on stderr and a non-zero exit: 2 for usage errors, 1 for
everything else.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from vigilstream import __version__
from vigilstream.config import ConfigError, Settings, load_settings
from vigilstream.demo import DEFAULT_SEED
from vigilstream.evaluation.command import UsageError
from vigilstream.localstack import LocalStack, StackError, export_lines


class CliError(Exception):
    """An error to print as one line, with its exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors instead of a usage block, and every default in the help."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.ArgumentDefaultsHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise CliError(f"{message} (see '{self.prog} --help')", code=2)


def _common_options() -> argparse.ArgumentParser:
    """Options every command accepts, before or after its name; they override VIGIL_*."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("configuration (overrides VIGIL_* variables)")
    sup = argparse.SUPPRESS
    group.add_argument("--broker", default=sup, help="Kafka broker URL(s), comma-separated")
    group.add_argument("--redis-url", default=sup, help="Redis URL")
    group.add_argument("--topic-prefix", default=sup, help="prefix of every topic name")
    group.add_argument("--web-port", type=int, default=sup, help="worker HTTP port")
    group.add_argument("--state-dir", default=sup, help="where dev up keeps pids, ports, logs")
    group.add_argument(
        "--log-level", default=sup, choices=["debug", "info", "warning", "error"], help="log level"
    )
    return common


SETTING_FLAGS = ("broker", "redis_url", "topic_prefix", "web_port", "state_dir", "log_level")


def settings_from(args: argparse.Namespace) -> Settings:
    """Effective settings: CLI flags over environment over the running dev stack."""
    return load_settings(**{name: getattr(args, name, None) for name in SETTING_FLAGS})


def _cohort_size(text: str) -> tuple[int, int, int]:
    """``1000x28@303`` -> (patients, days, seed); the seed defaults to 303."""
    size, _, seed = text.partition("@")
    patients, _, days = size.partition("x")
    try:
        out = (int(patients), int(days), int(seed or 303))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not PATIENTSxDAYS[@SEED]") from None
    if out[0] < 1 or out[1] < 1:
        raise argparse.ArgumentTypeError("patients and days must be at least 1")
    return out


def _seed_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of seeds: {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command of docs/spec.md."""
    common = _common_options()
    parser = _Parser(
        prog="vigilstream",
        parents=[common],
        description="Streaming monitor for wearables: personal baselines, NEWS2, explainable "
        "alerts for care teams.",
    )
    parser.add_argument("--version", action="version", version=f"vigilstream {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    dev = sub.add_parser("dev", parents=[common], help="embedded local stack: broker + Redis")
    dev_sub = dev.add_subparsers(dest="dev_command", metavar="ACTION", parser_class=_Parser)
    up = dev_sub.add_parser("up", parents=[common], help="start the stack (idempotent)")
    up.add_argument("--broker-port", type=int, help="broker port (default: a free one)")
    up.add_argument("--redis-port", type=int, help="Redis port (default: a free one)")
    dev_sub.add_parser("down", parents=[common], help="stop the stack, leave no process")
    dev_sub.add_parser("status", parents=[common], help="report; non-zero exit if anything is down")

    sub.add_parser("worker", parents=[common], help="run the stream-processing worker (Faust)")

    sim = sub.add_parser("simulate", parents=[common], help="generate a synthetic cohort")
    sim.add_argument("--out", metavar="FILE", help="write FILE.jsonl (+ FILE.truth.json beside it)")
    sim.add_argument(
        "--to-kafka",
        action="store_true",
        help="produce to vitals.raw, patients and outcomes (kafka-python)",
    )
    sim.add_argument("--patients", type=int, default=200, help="patients in the cohort")
    sim.add_argument("--days", type=int, default=14, help="days of data per patient")
    sim.add_argument("--seed", type=int, default=1, help="the cohort's random seed")
    sim.add_argument("--rate", type=float, help="messages per second to Kafka (default: max)")
    sim.add_argument(
        "--start",
        help="RFC 3339 start or 'now' (default: 2026-01-05 for files, ending now for Kafka)",
    )

    ev = sub.add_parser("evaluate", parents=[common], help="replay a cohort through the core")
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.add_argument("--patients", type=int, default=200, help="patients in the cohort")
    ev.add_argument("--days", type=int, default=14, help="days of data per patient")
    ev.add_argument("--seed", type=int, default=1, help="the cohort's random seed")
    ev.add_argument("--input", metavar="FILE", help="a cohort written by 'simulate --out'")
    ev.add_argument("--report", metavar="DIR", help="write an HTML report with PNG plots")
    ev.add_argument("--markdown", metavar="FILE", help="write the results document (EVALUATION.md)")
    ev.add_argument(
        "--also-seeds",
        metavar="S,S",
        type=_seed_list,
        default=None,
        help="with --markdown: held-out seeds of the same size, reported beside it",
    )
    ev.add_argument(
        "--also-days",
        type=int,
        default=None,
        help="days of the held-out cohorts (default: --days)",
    )
    ev.add_argument(
        "--fairness-cohort",
        metavar="PATIENTSxDAYS[@SEED]",
        type=_cohort_size,
        help="with --markdown: also a large cohort (detection and fairness with intervals, no "
        "suggestion trial), e.g. 1000x28@303",
    )

    rp = sub.add_parser("replay", parents=[common],
                        help="a program's own recording through the core, per patient")  # fmt: skip
    rp.add_argument("--input", metavar="FILE", required=True,
                    help="JSONL of raw messages in any input format, JSONL of 'simulate --out', "
                    "or CSV patient_id,ts,signal,value; .gz for gzipped")  # fmt: skip
    rp.add_argument("--episodes", metavar="FILE",
                    help="known episodes (CSV patient_id,onset,critical,end,kind or JSON): "
                    "score detection as 'evaluate' does")  # fmt: skip
    rp.add_argument("--json", action="store_true", help="print one JSON object")
    rp.add_argument("--report", metavar="DIR", help="write an HTML report")

    demo = sub.add_parser("demo", parents=[common], help="everything at once on the local stack")
    demo.add_argument(
        "--duration",
        type=float,
        default=75.0,
        help="seconds to play the cohort and drain the worker",
    )
    demo.add_argument("--patients", type=int, default=12, help="simulated patients")
    demo.add_argument(
        "--days",
        type=int,
        default=12,
        help="days of history per patient, played in accelerated time",
    )
    demo.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help="cohort seed; the default's 12 patients hold a deterioration and a days-long decline",
    )
    demo.add_argument(
        "--keep",
        action="store_true",
        help="keep the worker and stack running after the summary, until Ctrl-C",
    )

    bench = sub.add_parser(
        "bench", parents=[common],
        help="measure the core, the raw limit, bare Faust and the worker, latency, scale-out "
             "and memory in one run",
    )  # fmt: skip
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.add_argument("--quick", action="store_true",
                       help="small sizes: a smoke run of every part in a few minutes")  # fmt: skip
    bench.add_argument("--memory", type=_patient_counts, default=None,
                       help="patient counts of the memory runs (default 10000,100000)")  # fmt: skip
    bench.add_argument("--markdown", type=Path, default=None,
                       help="also write the report to this file (BENCHMARKS.md)")  # fmt: skip

    patient = sub.add_parser("patient", parents=[common], help="per-patient administration")
    patient_sub = patient.add_subparsers(dest="patient_command", metavar="ACTION",
                                         parser_class=_Parser)  # fmt: skip
    forget = patient_sub.add_parser(
        "forget", parents=[common],
        help="erase a patient's state, alerts and profile (Kafka keeps raw data until retention)",
    )  # fmt: skip
    forget.add_argument("patient_id", metavar="ID", help="the program's patient id")

    schema = sub.add_parser("schema", parents=[common], help="print JSON Schema of messages")
    schema.add_argument("name", nargs="?", help="message type (default: all)")

    sub.add_parser("config", parents=[common], help="print the effective configuration")
    return parser


# --------------------------------------------------------------------------- commands
def cmd_dev(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    stack = LocalStack(settings.state_dir)
    if args.dev_command == "up":
        servers = stack.up(broker_port=args.broker_port, redis_port=args.redis_port)
        print(export_lines(servers))
        return 0
    if args.dev_command == "down":
        stopped = stack.down()
        print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
        return 0
    if args.dev_command == "status":
        status = stack.status()
        for name, server in status.items():
            if server is None:
                print(f"{name:<7} down")
            else:
                print(f"{name:<7} up    {server.address}  pid {server.pid}  log {server.log}")
        return 0 if all(status.values()) else 1
    raise CliError("dev needs an action: up, down or status", code=2)


def cmd_worker(args: argparse.Namespace) -> int:
    from streams.app import run_worker

    run_worker(settings_from(args))
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from vigilstream.evaluation.command import run_replay

    return run_replay(args.input, args.episodes, args.json, args.report)


def cmd_demo(args: argparse.Namespace) -> int:
    from vigilstream.demo import run_demo

    try:
        return run_demo(settings_from(args), duration=args.duration, patients=args.patients,
                        days=args.days, seed=args.seed, keep=args.keep)  # fmt: skip
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def cmd_bench(args: argparse.Namespace) -> int:
    from vigilstream.benchmark import run_bench

    return run_bench(settings_from(args), args.json, args.quick, args.markdown, args.memory)


def _patient_counts(text: str) -> tuple[int, ...]:
    try:
        counts = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected numbers like 10000,100000, got {text!r}"
        ) from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("patient counts must be at least 1")
    return counts


def cmd_simulate(args: argparse.Namespace) -> int:
    from vigilstream.evaluation.command import run_simulate

    return run_simulate(
        settings_from(args) if args.to_kafka else Settings(),
        args.patients,
        args.days,
        args.seed,
        args.out,
        args.to_kafka,
        args.rate,
        args.start,
    )


def cmd_evaluate(args: argparse.Namespace) -> int:
    from vigilstream.evaluation.command import run_evaluate

    return run_evaluate(
        args.patients,
        args.days,
        args.seed,
        args.input,
        args.json,
        args.report,
        args.markdown,
        args.also_seeds,
        also_days=args.also_days,
        fairness_cohort=args.fairness_cohort,
    )


def cmd_patient(args: argparse.Namespace) -> int:
    import re

    from vigilstream.forget import forget

    if args.patient_command != "forget":
        raise CliError("patient needs an action: forget", code=2)
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", args.patient_id):
        raise CliError(f"not a patient id: {args.patient_id!r}", code=2)
    done = forget(settings_from(args), args.patient_id)
    print(
        f"erased {done['patient']}: checkpoint {'deleted' if done['checkpoint'] else 'absent'}, "
        f"{done['alerts']} alert(s) deleted, profile tombstone written, owner notified"
    )
    print(
        "Kafka keeps raw readings, dead letters and alert messages until topic retention "
        "expires (retention.ms, 7 days by default)"
    )
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from vigilstream import messages

    if args.name is None:
        print(json.dumps({n: messages.json_schema(n) for n in messages.SCHEMAS}, indent=2))
        return 0
    if args.name not in messages.SCHEMAS:
        names = ", ".join(messages.SCHEMAS)
        raise CliError(f"unknown message type {args.name!r}; known: {names}", code=2)
    print(json.dumps(messages.json_schema(args.name), indent=2))
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    print(json.dumps(settings_from(args).masked(), indent=2))
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "dev": cmd_dev,
    "worker": cmd_worker,
    "simulate": cmd_simulate,
    "evaluate": cmd_evaluate,
    "demo": cmd_demo,
    "bench": cmd_bench,
    "replay": cmd_replay,
    "schema": cmd_schema,
    "config": cmd_config,
    "patient": cmd_patient,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``vigilstream`` console script."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        return COMMANDS[args.command](args)
    except CliError as exc:
        print(f"vigilstream: error: {exc}", file=sys.stderr)
        return exc.code
    except UsageError as exc:  # a bad option value found after parsing
        print(f"vigilstream: error: {exc}", file=sys.stderr)
        return 2
    except (ConfigError, StackError) as exc:
        print(f"vigilstream: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # anything unforeseen is still one line; VIGIL_DEBUG=1 for more
        if os.environ.get("VIGIL_DEBUG"):
            raise
        print(f"vigilstream: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
