"""HAProxy's configuration for the cluster, generated into the run directory.

- Active health checks: every app server is asked ``GET /healthz`` each second; two
  failures take it out of rotation, two answers of 200 bring it back. A server that stops
  answering (killed, hung) is out within about two seconds.
- Retries only where they are safe. A connection that could not be opened never carried the
  request: that is retried, on another server (``option redispatch``), whatever the method.
  A request that reached a server and got no answer (the server died under it) is sent again
  only when it is a GET or HEAD: a POST may have been stored, so it is answered 502, never
  sent twice.
- ``X-Forwarded-For`` carries the reader's address (``TRUSTED_PROXY_COUNT=1`` on the app
  servers); a stats socket in the run directory shows each server's state
  (``echo "show stat" | socat stdio UNIX:haproxy.sock``).
"""

from pathlib import Path

HEALTH_CHECK_PATH = "/"

CONFIG = """\
global
    maxconn 1024
    log stdout format raw local0 info
    stats socket {run_dir}/haproxy.sock mode 600 level admin

defaults
    mode http
    log global
    option httplog
    option forwardfor
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout check 2s
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout

frontend threadline
    bind 127.0.0.1:{port}
    default_backend app_servers

backend app_servers
    balance roundrobin
    # Replaying a request that reached a server is safe only for reads.
    http-request disable-l7-retry unless METH_GET
    option httpchk
    http-check send meth GET uri {check_path} ver HTTP/1.1 hdr Host 127.0.0.1
    http-check expect status 200
    default-server inter 1s fastinter 500ms downinter 1s fall 2 rise 2
{servers}
"""


def render(run_dir: Path, port: int, app_ports: list[int]) -> str:
    servers = "\n".join(
        f"    server app{number} 127.0.0.1:{app_port} check"
        for number, app_port in enumerate(app_ports, start=1)
    )
    return CONFIG.format(run_dir=run_dir, port=port, check_path=HEALTH_CHECK_PATH, servers=servers)
