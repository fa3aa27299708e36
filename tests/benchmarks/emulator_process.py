"""One emulator in a process of its own, so its work does not share syncd's interpreter lock.

    python -m tests.benchmarks.emulator_process planfix|planningpme

Serves on 127.0.0.1 (a free port), prints its base URL on the first line of stdout, and runs
until stdin closes (the parent ended) or it is terminated. Beside the emulator's own API and
control API it answers two benchmark routes:

- ``POST /_bench/clock {"offset": seconds}``: its wall clock runs this far ahead of real time
  (the parent moves time forward between cycles); monotonic time stays real;
- ``POST /_bench/rate {"rate": requests_per_second}``: enforce this rate from now on (0 = none),
  as a fresh account would;
- ``GET /_bench/cpu``: ``{"cpu": seconds}``, the CPU time this process has used so far (every
  thread), so the benchmark can show what serving cost beside a wall time.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from syncd.emulators.common import EmulatorServer
from syncd.emulators.planfix import PlanfixEmulator, PlanfixEmulatorConfig
from syncd.emulators.planfix_gate import RateGate as PlanfixGate
from syncd.emulators.planningpme import EmulatorOptions, PlanningPmeEmulator
from syncd.emulators.planningpme_gate import RateGate as PlanningPmeGate
from tests.benchmarks.clock import OffsetClock


def _number(body: Any, name: str) -> float:
    value = body.get(name) if isinstance(body, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name}: expected a number >= 0")
    return float(value)


def serve(system: str) -> None:
    clock = OffsetClock()
    if system == "planfix":
        planfix = PlanfixEmulator(PlanfixEmulatorConfig(rate=0, daily_quota=0), clock)
        app = planfix.build_app()

        def set_rate(rate: float) -> None:
            planfix.rate_gate = PlanfixGate(rate, "reject", clock)

    elif system == "planningpme":
        pme = PlanningPmeEmulator(EmulatorOptions(hourly_limit=0), clock=clock.epoch)
        app = pme.app

        def set_rate(rate: float) -> None:
            pme.gate = PlanningPmeGate(0, rate, clock.epoch)

    else:
        raise SystemExit(f"unknown system {system!r}: planfix or planningpme")

    async def set_clock(request: Request) -> Response:
        try:
            clock.offset = _number(await request.json(), "offset")
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"ok": True})

    async def set_rate_route(request: Request) -> Response:
        try:
            set_rate(_number(await request.json(), "rate"))
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"ok": True})

    app.router.routes.append(Route("/_bench/clock", set_clock, methods=["POST"]))

    async def cpu(_: Request) -> Response:
        return JSONResponse({"cpu": time.process_time()})

    app.router.routes.append(Route("/_bench/rate", set_rate_route, methods=["POST"]))
    app.router.routes.append(Route("/_bench/cpu", cpu, methods=["GET"]))
    server = EmulatorServer(app).start()
    print(server.base_url, flush=True)
    try:
        sys.stdin.read()  # until the parent closes our stdin (or goes away)
    finally:
        server.stop()


if __name__ == "__main__":
    serve(sys.argv[1] if len(sys.argv) > 1 else "")
