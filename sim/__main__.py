"""Allow ``python -m sim`` as a synonym of the ``lhsim`` command."""

from sim.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
