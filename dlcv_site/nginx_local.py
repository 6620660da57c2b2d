"""``deploy/nginx.conf`` run on loopback, as shipped, by the CI test and the stalled-client bench.

Only what the file tells a deployer to set changes: the listening addresses (loopback ports, no
IPv6), the upstream (a gunicorn on loopback), the static root (this checkout's ``var/static``) and
the certificate (a self-signed one made here). Every other line — buffering, limits, timeouts,
TLS settings, static headers — is the deployed one. nginx runs in the foreground with its own
prefix, logs and temporary directories under a scratch directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

DEPLOY_CONF = Path(settings.BASE_DIR) / "deploy" / "nginx.conf"


@dataclass(frozen=True)
class NginxFront:
    process: subprocess.Popen[bytes]
    http_port: int
    https_port: int
    directory: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # nginx: fast shutdown
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def error_log(self) -> str:
        path = self.directory / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "front.pem", directory / "front.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=60)
    return cert, key


def local_site_conf(*, http_port: int, https_port: int, upstream_port: int, static_root: Path, cert: Path,
                    key: Path, text: str | None = None) -> str:
    """``deploy/nginx.conf`` with the deployment-specific values replaced; each must be found, so the
    file and this cannot drift apart unnoticed."""
    text = DEPLOY_CONF.read_text() if text is None else text
    replacements = [
        ("    listen [::]:80;\n", ""),
        ("    listen [::]:443 ssl http2;\n", ""),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
        ("server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream_port};"),
        ("alias /srv/dlcv/var/static/;", f"alias {static_root}/;"),
        ("ssl_certificate     /etc/ssl/certs/dlcv.example.edu.pem;", f"ssl_certificate {cert};"),
        ("ssl_certificate_key /etc/ssl/private/dlcv.example.edu.key;", f"ssl_certificate_key {key};"),
    ]
    for old, new in replacements:
        if old not in text:
            raise ValueError(f"deploy/nginx.conf no longer contains {old.strip()!r}")
        text = text.replace(old, new)
    return text


def start_nginx_front(*, directory: Path, upstream_port: int, http_port: int, https_port: int,
                      static_root: Path | None = None) -> NginxFront:
    """nginx with ``deploy/nginx.conf`` on loopback in front of ``127.0.0.1:upstream_port``."""
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError("nginx is not installed (apt-get install nginx)")
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = self_signed_certificate(directory)
    site = directory / "dlcv.conf"
    site.write_text(local_site_conf(http_port=http_port, https_port=https_port, upstream_port=upstream_port,
                                    static_root=static_root or Path(settings.STATIC_ROOT), cert=cert, key=key))
    temp = {name: directory / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir(exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""  # static files readable as they are in a checkout
    main = directory / "nginx.conf"
    main.write_text(
        f"daemon off;\nworker_processes 1;\n{user}pid {directory}/nginx.pid;\nerror_log {directory}/error.log warn;\n"
        "events { worker_connections 1024; }\n"
        "http {\n    include /etc/nginx/mime.types;\n    default_type application/octet-stream;\n"
        "    access_log off;\n    sendfile on;\n"
        + "".join(f"    {name}_temp_path {path};\n" for name, path in
                  (("client_body", temp["body"]), ("proxy", temp["proxy"]), ("fastcgi", temp["fastcgi"]),
                   ("uwsgi", temp["uwsgi"]), ("scgi", temp["scgi"])))
        + f"    include {site};\n}}\n"
    )
    test = subprocess.run([binary, "-t", "-p", str(directory), "-c", str(main)], capture_output=True, text=True)
    if test.returncode != 0:
        raise RuntimeError(f"nginx -t refused the configuration: {test.stderr}")
    process = subprocess.Popen([binary, "-p", str(directory), "-c", str(main)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.STDOUT, start_new_session=True)
    front = NginxFront(process=process, http_port=http_port, https_port=https_port, directory=directory)
    _wait_for_port(https_port, front)
    return front


def _wait_for_port(port: int, front: NginxFront, timeout: float = 10) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if front.process.poll() is not None:
            raise RuntimeError(f"nginx exited: {front.error_log()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    front.stop()
    raise RuntimeError(f"nginx did not listen on {port}: {front.error_log()}")
