"""Darkroom as ``python app.py`` runs it, plus two bench-only routes; never part of the product.

``create_app`` and ``darkroom.serving.serve`` are used unchanged (gunicorn
gthread with Darkroom's worker). The factory adds:

- ``POST /bench/burst {"n", "rate"}``: a server-side thread publishes ``n``
  events through ``websocket_events.publish`` (the generic publish every
  ``broadcast_*`` helper ends in) at ``rate`` per second, 0 meaning as fast
  as possible, exactly as a job worker would;
- ``GET /bench/health``: the hub's client count.

Run by ``bench/fanout.py``: ``python bench/darkroom_server.py --port P --data-dir D``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import benchlib  # noqa: E402

import websocket_events  # noqa: E402
from app import create_app  # noqa: E402
from darkroom.config import Config  # noqa: E402
from darkroom.runtime import runtime  # noqa: E402
from darkroom.web import serving  # noqa: E402


def emit(i: int) -> None:
    websocket_events.publish(benchlib.EVENT_TYPE, benchlib.CHANNEL, benchlib.body(i))


def bench_app(config: Config):
    app = create_app(config)
    benchlib.add_bench_routes(app, emit, runtime(app).hub.client_count)
    return app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--max-clients", type=int, default=1100)
    args = parser.parse_args()
    benchlib.raise_nofile()
    # Quiet and lean: no hot folder, no periodic system_status, one develop worker.
    config = Config(port=args.port, data_dir=args.data_dir, max_clients=args.max_clients,
                    hot_folder=False, monitor_interval=3600.0, workers=1, log_level="warning")
    return serving.serve(lambda: bench_app(config), config)


if __name__ == "__main__":
    sys.exit(main())
