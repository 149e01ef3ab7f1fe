"""`python -m bench [filing] [--quick]`: run the benchmarks and print their tables."""

import argparse

import ehr  # noqa: F401 - quiets eventlet's deprecation notice


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("which", nargs="?", default="filing", choices=["filing", "registry"])
    parser.add_argument("--quick", action="store_true", help="small sizes, finishes in about a minute")
    parser.add_argument("--encounters", type=int, default=None, help="backlog size")
    parser.add_argument("--workers", type=int, default=1, help="records worker processes")
    parser.add_argument("--rate", type=int, default=None, help="steady-load publish rate per second")
    parser.add_argument("--residents", type=int, default=None, help="registry size")
    args = parser.parse_args()
    if args.which == "registry":
        from bench.registry import run as run_registry

        run_registry(args.residents or (100_000 if args.quick else 1_000_000))
        return
    from bench.filing import run

    run(encounters=args.encounters or (5000 if args.quick else 20000), workers=args.workers,
        rate=args.rate or (300 if args.quick else 1000), steady_seconds=5 if args.quick else 15)


main()
