"""What deploy.local.broker and deploy.local.postgres need of this machine: stdlib only, as
they run before the virtualenv exists (`python3 -m deploy.local.broker ensure` from the clone)."""
import hashlib
import os
import pwd
import socket
import stat
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

LOOPBACK = ("127.0.0.1", "localhost")


def address(uri: str, default_port: int) -> tuple[str, int]:
    parts = urllib.parse.urlparse(uri)
    return parts.hostname or "127.0.0.1", parts.port or default_port


def answers(host, port, timeout=1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def as_user(user, cmd) -> list:
    """Servers refuse to run as root: drop to their own user when we are root."""
    return ["runuser", "-u", user, "--"] + cmd if os.geteuid() == 0 else cmd


def reachable_by(user, path: Path) -> bool:
    """Whether `user` may enter every existing directory from / down to `path`."""
    account = pwd.getpwnam(user)
    groups = set(os.getgrouplist(user, account.pw_gid))
    for directory in [*reversed(path.parents), path]:
        try:
            info = directory.stat()
        except FileNotFoundError:
            return True  # what we create below it is made for the user
        if info.st_uid == account.pw_uid:
            allowed = info.st_mode & stat.S_IXUSR
        elif info.st_gid in groups:
            allowed = info.st_mode & stat.S_IXGRP
        else:
            allowed = info.st_mode & stat.S_IXOTH
        if not allowed:
            return False
    return True


def server_dir(user, path: Path) -> Path:
    """The directory a server running as `user` keeps its data in: `path` itself when the
    user can reach it (or we are not root, so the server runs as us); else, say in a clone
    under /root (mode 0700), a directory in the user's home, `path` becoming a symlink to it.
    Returns the real directory (give that to the server)."""
    if path.is_symlink() or os.geteuid() != 0 or reachable_by(user, path):
        path.mkdir(parents=True, exist_ok=True)
        return path.resolve()
    real = Path(pwd.getpwnam(user).pw_dir) / "secto" / hashlib.sha256(str(path).encode()).hexdigest()[:16]
    real.mkdir(parents=True, exist_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():  # data of an earlier attempt that could not have worked: keep it aside
        path.rename(path.with_name(path.name + ".unreachable"))
    path.symlink_to(real, target_is_directory=True)
    print(f"the {user} user cannot enter {path.parent}: its data is in {real} ({path} links there)",
          file=sys.stderr, flush=True)
    return real


def tail(path: Path, lines=30, width=1000) -> str:
    try:
        return "\n".join(line[:width] for line in path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"({exc})"


ROOT = Path(__file__).resolve().parents[2]


def server_command(module: str, command: str, env=None, **kwargs) -> subprocess.CompletedProcess:
    """`python -m <module> <command>` (deploy.local.broker, deploy.local.postgres) from the clone."""
    return subprocess.run([sys.executable, "-m", module, command], cwd=ROOT, env=env, **kwargs)


def ensure_with(module: str, env=None) -> str:
    """Run `<module> ensure` (deploy.local.broker, deploy.local.postgres) showing its messages;
    returns "started" or "reused". If it fails, exit with its reason (already printed), not a
    traceback."""
    result = server_command(module, "ensure", env, stdout=subprocess.PIPE, text=True)
    if result.returncode:
        name = module.rsplit(".", 1)[-1]
        sys.exit(f"secto: {name} could not start (see above); exit status {result.returncode}")
    return result.stdout.strip().splitlines()[-1]


def apt_install(package):
    if os.geteuid() != 0:
        sys.exit(f"{package} is not installed and this is not root: install it first")
    print(f"installing {package} (Debian package)", file=sys.stderr, flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", package], check=True, env=env, stdout=subprocess.DEVNULL)


def ensure(name, host, port, start):
    """Reuse a server that answers at host:port, else start a local one; prints "reused" or
    "started" (and the start-up time on stderr)."""
    if answers(host, port):
        print("reused", flush=True)
        return
    if host not in LOOPBACK:
        sys.exit(f"no {name} answers at {host}:{port} and it is not local")
    began = time.time()
    start()
    print("started", flush=True)
    print(f"{name} up in {time.time() - began:.1f}s", file=sys.stderr, flush=True)
