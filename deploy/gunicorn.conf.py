"""gunicorn behind nginx (deploy/nginx/flowcast.conf.template): `gunicorn -c deploy/gunicorn.conf.py config.wsgi`.

Every value can be changed from the environment (or a command-line flag, which wins over this file).
"""

import os

# Loopback: nginx on this host is the only client. Behind nginx on another host, bind that interface and list
# nginx's address in FORWARDED_ALLOW_IPS (gunicorn reads it) so the X-Forwarded-Proto nginx sets is believed.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8081")

# Threads, not one request per process: uploads stream through nginx unbuffered (proxy_request_buffering off),
# so a request holds its thread for as long as the client takes to send the body.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", str(min(4, 2 * (os.cpu_count() or 1)))))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# A worker whose main loop is silent this long is restarted (gthread: not a request time limit; nginx's
# proxy_read_timeout bounds a request).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
# Longer than nginx's upstream keepalive use, so nginx (not gunicorn) closes idle connections.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))
# Recycle workers now and then (a leak in any library stays bounded); jitter keeps them from restarting together.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = max_requests // 10

accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
# The client's address as the app counts it: the last X-Forwarded-For entry, written by nginx.
access_log_format = '%({x-forwarded-for}i)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'
