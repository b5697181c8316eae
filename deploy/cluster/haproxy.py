"""HAProxy's configuration for the cluster, generated into the run directory.

- Active health checks: every app server is asked ``GET /healthz`` each second; two
  failures take it out of rotation, two answers of 200 bring it back. A server that stops
  answering (killed, hung) is out within about two seconds.
- Retries only where they are safe. A connection that could not be opened never carried the
  request: that is retried, on another server (``option redispatch``), whatever the method.
  A request that reached a server and got no answer (the server died under it) is sent again
  only when it is a GET or HEAD: a POST may have been stored, so it is answered 502, never
  sent twice.
- Request bodies are read whole (up to the 64 kB buffer: any comment form) before a
  server is chosen, so slow clients cannot hold gunicorn's sync workers.
- ``X-Forwarded-For`` carries the reader's address (``TRUSTED_PROXY_COUNT=1`` on the app
  servers); a stats socket in the run directory shows each server's state
  (``echo "show stat" | socat stdio UNIX:haproxy.sock``).
"""

import socket
from pathlib import Path

HEALTH_CHECK_PATH = "/healthz"

CONFIG = """\
global
    maxconn 1024
    # Room for a whole comment form (10,000 characters, URL-encoded) in one buffer.
    tune.bufsize 65536
    log stdout format raw local0 info
    stats socket {run_dir}/haproxy.sock mode 600 level admin

defaults
    mode http
    log global
    option httplog
    option forwardfor
    timeout connect 2s
    timeout client 30s
    # A reader's request, body included, must arrive within this: a client trickling its
    # body a byte a second holds no gunicorn worker (they serve one connection each).
    timeout http-request 10s
    option http-buffer-request
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


def server_states(run_dir: Path) -> dict[str, str]:
    """Each app server's state as HAProxy sees it, from its stats socket:
    ``{"app1": "UP", "app2": "DOWN"}``."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(run_dir / "haproxy.sock"))
        sock.sendall(b"show stat\n")
        text = b"".join(iter(lambda: sock.recv(65536), b"")).decode()
    rows = [line.split(",") for line in text.splitlines() if line.startswith("app_servers,")]
    return {row[1]: row[17].split()[0] for row in rows if row[1].startswith("app")}
