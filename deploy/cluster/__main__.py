"""``python -m deploy.cluster start|stop|status``: the cluster of docs/deploy.md on this machine.

``start`` (``make cluster``) starts what is not running and prints HAProxy's URL; ``stop``
(``make cluster-stop``) stops every process and keeps the data, so the next ``start`` brings
back the same site; ``stop --remove`` (``make cluster-clean``) deletes it too. Where it runs
and on which ports: ``CLUSTER_DIR`` and ``CLUSTER_PORT`` (deploy/cluster/topology.py).
"""

import argparse
import sys

from deploy.cluster import topology


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.cluster", description=__doc__)
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--remove", action="store_true", help="stop: delete the data too")
    options = parser.parse_args(argv)
    layout = topology.Layout.from_env()
    if options.action == "start":
        try:
            topology.start(layout)
        except RuntimeError as error:
            print(error, file=sys.stderr)
            print(f"Logs are in {layout.run_dir}; `make cluster-stop` stops what started.")
            return 1
        print(f"Threadline cluster: {layout.url}/  (run directory {layout.run_dir})")
        print(f"  app servers {', '.join(layout.app_urls)}; PostgreSQL primary")
        print(f"  {layout.primary_url}, replica {layout.replica_url}; {layout.redis_url}")
        return 0
    if options.action == "stop":
        topology.stop_all(layout, remove=options.remove)
        print(f"Threadline cluster stopped{' and removed' if options.remove else ''}.")
        return 0
    for name, up in topology.status(layout).items():
        print(f"{name:10} {'running' if up else 'stopped'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
