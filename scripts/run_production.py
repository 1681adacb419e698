"""`make run-prod`: the production web tier on 127.0.0.1, for operators to try.

nginx (from deploy/nginx/, in the foreground, every file of its own under DATA_DIR/web-tier/nginx) in front of
gunicorn (deploy/gunicorn.conf.py), and the two django-q2 clusters (the default one and `<Q_NAME>-long` for
transcodes). DEBUG is off; SECRET_KEY is generated once into DATA_DIR/secret_key when none is given; static files
are collected first and served by nginx. Ctrl-C (or SIGTERM) stops every process it started.

    run_production.py              start the stack (FLOWCAST_NGINX_PORT, FLOWCAST_GUNICORN_PORT: 8080, 8081)
    run_production.py nginx-site   print deploy/nginx/flowcast.conf.template rendered from this environment's
                                   settings (NGINX_LISTEN: 80, GUNICORN_BIND: 127.0.0.1:8081)
    run_production.py --no-workers the web tier only (nginx + gunicorn)
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

from run_platform import MANAGE, PYTHON, ROOT, Part, http_ready, port_in_use, supervise

from config.env import q_name, transcode_cluster_name

DEPLOY = ROOT / "deploy"
NGINX_TEMPLATES = DEPLOY / "nginx"
GUNICORN_CONFIG = DEPLOY / "gunicorn.conf.py"
ACCEL_PREFIX = "/protected-media/"
# Static files keep their names across releases (no hashed names yet): a week, revalidated by ETag afterwards.
STATIC_MAX_AGE = 7 * 24 * 3600
# Past the app's largest upload limit plus its form overhead, so that the app answers its own 413 first.
BODY_LIMIT_SLACK = 1024 * 1024
LOOPBACK_NAMES = ("127.0.0.1", "localhost")
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")

# What the nginx config needs from the app's settings, read in a child process with the stack's environment.
SETTINGS_PROBE = """
import json, django
django.setup()
from django.conf import settings as s
from config.env import gateway_host
from media_pipeline.uploads import FORM_OVERHEAD_BYTES
print(json.dumps({
    "static_url": "/" + s.STATIC_URL.strip("/") + "/",
    "static_root": str(s.STATIC_ROOT),
    "media_root": str(s.MEDIA_ROOT),
    "accel_prefix": s.PLAYBACK_ACCEL_REDIRECT_PREFIX,
    "largest_body": max(s.MEDIA_MAX_UPLOAD_BYTES, s.IPFS_UPLOAD_MAX_BYTES) + FORM_OVERHEAD_BYTES,
    "site_host": s.SITE_URL.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[0],
    "gateway_host": gateway_host(s.IPFS_GATEWAY_ORIGIN, site_url=s.SITE_URL) if s.IPFS_GATEWAY_ORIGIN else "",
    "num_proxies": s.NINJA_NUM_PROXIES,
}))
"""


def render(template: Path, values: dict) -> str:
    """`template` with every `{{name}}` replaced; a name with no value is an error, not an empty string."""
    text = template.read_text()
    missing = sorted({name for name in PLACEHOLDER.findall(text) if name not in values})
    if missing:
        raise KeyError(f"{template.name}: no value for {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), text)


def production_env(environ) -> tuple[dict, int, int, Path]:
    """The environment of every part: env, nginx port, gunicorn port, data folder."""
    env = dict(environ)
    nginx_port = int(env.get("FLOWCAST_NGINX_PORT", "8080"))
    gunicorn_port = int(env.get("FLOWCAST_GUNICORN_PORT", "8081"))
    data_dir = Path(env.get("DATA_DIR", ROOT / "data")).resolve()
    env["DATA_DIR"] = str(data_dir)
    env["DEBUG"] = "0"
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if not env.get("SECRET_KEY", "").strip():
        env["SECRET_KEY"] = stored_secret_key(data_dir / "secret_key")
    env.setdefault("SITE_URL", f"http://127.0.0.1:{nginx_port}")
    env.setdefault("IPFS_GATEWAY_ORIGIN", f"http://ipfs.localhost:{nginx_port}")
    # What deploy/nginx/flowcast.conf.template does: appends one X-Forwarded-For entry, overwrites
    # X-Forwarded-Proto, serves protected media from its internal location.
    env.setdefault("NINJA_NUM_PROXIES", "1")
    env.setdefault("SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto")
    env["PLAYBACK_ACCEL_REDIRECT_PREFIX"] = ACCEL_PREFIX
    # Uploads stream into gunicorn's temporary files: on the data disk, not a small tmpfs /tmp.
    env.setdefault("TMPDIR", str(data_dir / "tmp"))
    env.setdefault("GUNICORN_BIND", f"127.0.0.1:{gunicorn_port}")
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env, nginx_port, gunicorn_port, data_dir


def stored_secret_key(path: Path) -> str:
    """A SECRET_KEY generated once and kept (mode 600): sessions, signed links and queued tasks outlive a restart,
    and the web tier and both clusters share it (django-q2 signs tasks with it)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        partial.write_text(secrets.token_urlsafe(50))
        partial.chmod(0o600)
        os.replace(partial, path)
    return path.read_text().strip()


def app_settings(env: dict) -> dict:
    result = subprocess.run([PYTHON, "-c", SETTINGS_PROBE], env=env, cwd=ROOT, capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f"reading the app's settings failed:\n{result.stderr.strip()}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def nginx_site(settings: dict, *, listen: str, upstream: str) -> str:
    """deploy/nginx/flowcast.conf.template for these settings, with the gateway's server block when configured."""
    if not settings["accel_prefix"]:
        raise RuntimeError("PLAYBACK_ACCEL_REDIRECT_PREFIX is empty: the app would stream media itself.")
    if settings["num_proxies"] != 1:
        print(f"note: NINJA_NUM_PROXIES={settings['num_proxies']} here; behind this nginx the app needs 1, plus one "
              "for each proxy in front of nginx that appends to X-Forwarded-For.", file=sys.stderr)
    values = {
        **settings,
        "accel_prefix": "/" + settings["accel_prefix"].strip("/") + "/",
        "listen": listen,
        "upstream": upstream,
        "server_name": " ".join(dict.fromkeys([settings["site_host"], *LOOPBACK_NAMES]
                                              if settings["site_host"] in LOOPBACK_NAMES else [settings["site_host"]])),
        "client_max_body_size": settings["largest_body"] + BODY_LIMIT_SLACK,
        "static_max_age": STATIC_MAX_AGE,
    }
    values["gateway_server"] = (render(NGINX_TEMPLATES / "gateway-server.conf.template", values)
                                if settings["gateway_host"] else "")
    return render(NGINX_TEMPLATES / "flowcast.conf.template", values)


def mime_types_file(nginx: str, prefix: Path) -> Path:
    """The distribution's mime.types (beside its nginx.conf), else a short one of our own."""
    version = subprocess.run([nginx, "-V"], capture_output=True, text=True).stderr
    match = re.search(r"--conf-path=(\S+)", version)
    if match and (Path(match.group(1)).parent / "mime.types").is_file():
        return Path(match.group(1)).parent / "mime.types"
    own = prefix / "conf" / "mime.types"
    own.write_text("types {\n" + "".join(f"    {kind} {ext};\n" for kind, ext in (
        ("text/html", "html"), ("text/css", "css"), ("application/javascript", "js mjs"),
        ("application/json", "json map"), ("image/svg+xml", "svg"), ("image/png", "png"), ("image/gif", "gif"),
        ("image/jpeg", "jpg jpeg"), ("image/x-icon", "ico"), ("font/woff2", "woff2"), ("font/woff", "woff"),
        ("text/plain", "txt"))) + "}\n")
    return own


def write_nginx_config(nginx: str, prefix: Path, site: str) -> Path:
    """The main config and the site under `prefix`; every path nginx writes is below it (no root paths)."""
    for folder in ("conf", "logs", *(f"temp/{name}" for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))):
        (prefix / folder).mkdir(parents=True, exist_ok=True)
    (prefix / "conf" / "flowcast.conf").write_text(site)
    # As root nginx's workers switch to `nobody`, who cannot read a private data folder: this loopback trial keeps
    # the user that started it. A real deployment runs the distribution's nginx with its own user instead.
    user = "user root root;" if os.geteuid() == 0 else ""
    main = render(NGINX_TEMPLATES / "local-nginx.conf.template", {
        "prefix": prefix, "user": user, "mime_types": mime_types_file(nginx, prefix), "error_log_level": "warn"})
    config = prefix / "conf" / "nginx.conf"
    config.write_text(main)
    return config


def nginx_command(nginx: str, prefix: Path, config: Path, *, test: bool = False) -> list[str]:
    # -e: nginx opens its compiled-in error log before it reads the config; ours instead.
    return [nginx, "-p", str(prefix), "-c", str(config), "-e", str(prefix / "logs" / "error.log"),
            *(["-t"] if test else [])]


def main(args: list[str]) -> int:
    if args[:1] == ["nginx-site"]:
        # For a deployment: the settings of this environment, none of the loopback trial's defaults.
        env = {**os.environ, "DEBUG": "0", "PLAYBACK_ACCEL_REDIRECT_PREFIX": ACCEL_PREFIX}
        env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        env.setdefault("SECRET_KEY", "only-reading-settings")
        print(nginx_site(app_settings(env), listen=env.get("NGINX_LISTEN", "80"),
                         upstream=env.get("GUNICORN_BIND", "127.0.0.1:8081")))
        return 0
    env, nginx_port, gunicorn_port, data_dir = production_env(os.environ)
    nginx = shutil.which("nginx", path=env.get("PATH", os.defpath) + ":/usr/sbin:/usr/local/sbin")
    if not nginx:
        print("Cannot start: nginx is not installed (Debian/Ubuntu: `apt-get install nginx`).", file=sys.stderr)
        return 2
    busy = [f"{name} port {port}" for name, port in (("nginx", nginx_port), ("gunicorn", gunicorn_port))
            if port_in_use(port)]
    if busy:
        print(f"Cannot start: {', '.join(busy)} already in use on 127.0.0.1. Stop what holds it, or set "
              "FLOWCAST_NGINX_PORT / FLOWCAST_GUNICORN_PORT.", file=sys.stderr)
        return 2
    Path(env["TMPDIR"]).mkdir(parents=True, exist_ok=True)

    print("Applying migrations, collecting static files ...", flush=True)
    subprocess.run([*MANAGE, "migrate", "--no-input", "-v", "0"], env=env, check=True, cwd=ROOT)
    subprocess.run([*MANAGE, "collectstatic", "--no-input", "-v", "0"], env=env, check=True, cwd=ROOT)
    settings = app_settings(env)
    prefix = data_dir / "web-tier" / "nginx"
    config = write_nginx_config(nginx, prefix, nginx_site(settings, listen=f"127.0.0.1:{nginx_port}",
                                                          upstream=env["GUNICORN_BIND"]))
    checked = subprocess.run(nginx_command(nginx, prefix, config, test=True), capture_output=True, text=True)
    if checked.returncode:
        print(f"Cannot start: nginx refused {config}:\n{checked.stderr}", file=sys.stderr)
        return 1

    parts = [
        Part("gunicorn", [PYTHON, "-m", "gunicorn", "-c", str(GUNICORN_CONFIG), "config.wsgi"],
             lambda: http_ready(f"http://{env['GUNICORN_BIND']}/api/health")),
        Part("nginx", nginx_command(nginx, prefix, config),
             lambda: http_ready(f"http://127.0.0.1:{nginx_port}/api/health")),
    ]
    if "--no-workers" not in args:
        parts += [
            Part("worker", [*MANAGE, "qcluster"], lambda: True),
            Part("worker-long", [*MANAGE, "qcluster"], lambda: True,
                 env={"Q_CLUSTER_NAME": transcode_cluster_name(q_name(env))}),
        ]
    site = f"http://127.0.0.1:{nginx_port}"
    workers = (f"django-q2 clusters {q_name(env)} and {transcode_cluster_name(q_name(env))}"
               if len(parts) > 2 else "none (--no-workers)")
    gateway = f"\n  IPFS       {env['IPFS_GATEWAY_ORIGIN']} (the gateway's own origin, same gunicorn)" \
        if settings["gateway_host"] else ""
    banner = (
        "\nFlowcast's production web tier is up (DEBUG off):\n"
        f"  nginx      {site}/ (admin {site}/admin/, API {site}/api/docs, health {site}/api/health){gateway}\n"
        f"  gunicorn   http://{env['GUNICORN_BIND']} (behind nginx; static files are nginx's, not its)\n"
        f"  workers    {workers}\n"
        f"  files      nginx config {config}, logs {prefix / 'logs'}, static {settings['static_root']}\n"
        "A staff account: `.venv/bin/python manage.py createsuperuser` (with the same DATA_DIR/DATABASE_URL).\n"
        "Press Ctrl-C to stop everything.\n"
    )

    def show_nginx_errors() -> None:
        if (prefix / "logs" / "error.log").exists():
            print((prefix / "logs" / "error.log").read_text()[-2000:], file=sys.stderr)

    return supervise(parts, env, banner=lambda: banner, on_failure=show_nginx_errors)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
