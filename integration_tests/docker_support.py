"""A private Docker engine, a base image built without a registry, and the connector image.

The engine is Debian's `dockerd` (package docker.io). Its socket and exec root are in a
temporary directory. Its data root is in the cache directory, so later runs on the same machine
reuse the base image and the build layers. It gets no bridge network and changes no iptables
rules, so a container has either no network (the default) or the host's (`--network host`).

The base image replaces Airbyte's python-connector-base, which comes from Docker Hub. It is a
debootstrap of Debian bookworm (Python 3.11.2) with a virtual environment on PATH, the user
`airbyte` (uid 1000) and the host's CA certificates, imported with `docker import`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from integration_tests.connector import ConnectorRun, parse_message
from integration_tests.local_cache import exclusive_lock

Log = Callable[[str], None]

SKIP_ENV_VAR = "SOURCE_PARTNER_CLIENTS_SKIP_DOCKER"
DEBIAN_MIRROR_ENV_VAR = "SOURCE_PARTNER_CLIENTS_DEBIAN_MIRROR"
DEFAULT_DEBIAN_MIRROR = "http://deb.debian.org/debian"

BASE_IMAGE = "source-partner-clients-base:bookworm-py311"
CONNECTOR_IMAGE = "airbyte/source-partner-clients:dev"
# Part of the base image's label and of the cached root file system's name. Raise it whenever the
# recipe below changes, so that older caches are rebuilt.
BASE_RECIPE_VERSION = "1"
BASE_RECIPE_LABEL = "org.source-partner-clients.base-recipe"
DEBIAN_SUITE = "bookworm"
DEBIAN_PACKAGES = ("python3", "python3-pip", "python3-venv", "ca-certificates")
VENV_DIR = "/opt/python"
AIRBYTE_UID = 1000
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
LOCAL_CA_DIR = Path("/usr/local/share/ca-certificates")
# Environment of the base image. Debian marks its own Python as externally managed, so pip
# installs into the virtual environment at VENV_DIR, which comes first on PATH. The CA variables
# point pip and requests at the bundle copied from the host.
BASE_IMAGE_CHANGES = (
    f"ENV PATH={VENV_DIR}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    f"ENV PIP_CERT={CA_BUNDLE}",
    f"ENV REQUESTS_CA_BUNDLE={CA_BUNDLE}",
    f"ENV SSL_CERT_FILE={CA_BUNDLE}",
    "ENV PIP_DISABLE_PIP_VERSION_CHECK=1",
)

CONTAINER_SECRETS_DIR = "/secrets"
ENGINE_START_TIMEOUT_SECONDS = 60
ENGINE_STOP_TIMEOUT_SECONDS = 60
ENGINE_LOCK_TIMEOUT_SECONDS = 1800
APT_TIMEOUT_SECONDS = 900
DEBOOTSTRAP_TIMEOUT_SECONDS = 1800
BUILD_TIMEOUT_SECONDS = 1800
RUN_TIMEOUT_SECONDS = 300
OUTPUT_TAIL_CHARS = 3000


class DockerUnavailableError(RuntimeError):
    """Docker cannot run on this machine. The message gives the reason and the fix."""


def run_command(
    arguments: Sequence[str | Path],
    timeout: float,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a command and capture its output. Raise RuntimeError with the output's end on failure."""
    command = [str(argument) for argument in arguments]
    completed = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(env) if env is not None else None,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if check and completed.returncode != 0:
        raise RuntimeError(
            f"`{' '.join(command)}` failed with exit code {completed.returncode}.\n"
            f"stdout:\n{completed.stdout[-OUTPUT_TAIL_CHARS:]}\n"
            f"stderr:\n{completed.stderr[-OUTPUT_TAIL_CHARS:]}"
        )
    return completed


def ensure_debian_packages(packages_by_command: Mapping[str, str], log: Log) -> None:
    """Install, with apt-get, the Debian packages of the commands that are not on PATH."""
    missing = sorted(
        {package for command, package in packages_by_command.items() if not shutil.which(command)}
    )
    if not missing:
        return
    install_hint = f"Install them with `apt-get install -y {' '.join(missing)}`"
    if os.geteuid() != 0:
        raise DockerUnavailableError(
            f"The Debian packages {', '.join(missing)} are missing and only root can install "
            f"them. {install_hint}, or set {SKIP_ENV_VAR}=1 to skip the Docker image tests."
        )
    if not shutil.which("apt-get"):
        raise DockerUnavailableError(
            f"The packages {', '.join(missing)} are missing and apt-get is not available. "
            f"Install Docker and debootstrap, or set {SKIP_ENV_VAR}=1 to skip the Docker "
            "image tests."
        )
    log(f"Installing Debian packages with apt-get: {', '.join(missing)}")
    apt_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        run_command(["apt-get", "update"], APT_TIMEOUT_SECONDS, apt_env)
        run_command(
            ["apt-get", "install", "-y", "--no-install-recommends", *missing],
            APT_TIMEOUT_SECONDS,
            apt_env,
        )
    except RuntimeError as error:
        raise DockerUnavailableError(
            f"Installing {', '.join(missing)} failed. {install_hint}.\n{error}"
        ) from error
    log(f"Installed {', '.join(missing)}")


def docker_client_for(dockerd: Path) -> str:
    """Return the docker CLI of the same installation as dockerd, else the first on PATH.

    Debian puts dockerd in /usr/sbin and its matching client in /usr/bin. A newer client found
    first on PATH may default to BuildKit, which the builds here do not use.
    """
    for candidate in (dockerd.with_name("docker"), dockerd.parent.parent / "bin" / "docker"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    client = shutil.which("docker")
    if not client:
        raise DockerUnavailableError(
            f"No docker CLI found beside {dockerd} or on PATH. Install Debian's docker.io, or "
            f"set {SKIP_ENV_VAR}=1 to skip the Docker image tests."
        )
    return client


class DockerEngine:
    """A dockerd process of this test run, with its own socket and a data root in the cache.

    Only one engine may use a data root at a time, so `start` takes an exclusive lock on a file
    beside it and `stop` releases it.
    """

    def __init__(self, data_root: Path, log: Log) -> None:
        self.data_root = data_root
        self._log = log
        self._lock_path = data_root.with_name(data_root.name + ".lock")
        self._pid_path = data_root.with_name(data_root.name + ".pid")
        self._lock = ExitStack()
        self._run_dir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._client = ""

    @property
    def socket_path(self) -> Path:
        if self._run_dir is None:
            raise RuntimeError("The Docker engine is not running. Call start() first.")
        return self._run_dir / "docker.sock"

    def start(self) -> DockerEngine:
        """Start dockerd and wait until it responds. Raise DockerUnavailableError on failure."""
        ensure_debian_packages({"dockerd": "docker.io"}, self._log)
        dockerd = Path(shutil.which("dockerd") or "dockerd")
        self._client = docker_client_for(dockerd)
        self.data_root.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.enter_context(exclusive_lock(self._lock_path, ENGINE_LOCK_TIMEOUT_SECONDS))
        except TimeoutError as error:
            raise DockerUnavailableError(str(error)) from None

        try:
            self._process = self._launch(dockerd)
            version = self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        self._log(
            f"Docker engine {version} started: dockerd pid {self._process.pid}, "
            f"socket {self.socket_path}, data root {self.data_root}"
        )
        return self

    def _launch(self, dockerd: Path) -> subprocess.Popen[bytes]:
        # A short path under /tmp keeps the socket path within the 108-byte limit of AF_UNIX.
        self._run_dir = Path(tempfile.mkdtemp(prefix="spc-docker-"))
        daemon_config = self._run_dir / "daemon.json"
        daemon_config.write_text("{}\n", encoding="utf-8")
        (self._run_dir / "client-config").mkdir()
        arguments = [
            str(dockerd),
            f"--config-file={daemon_config}",
            f"--data-root={self.data_root}",
            f"--exec-root={self._run_dir / 'exec'}",
            # A fixed pidfile beside the data root makes dockerd exit at start while an engine
            # of an earlier, interrupted run still uses that data root.
            f"--pidfile={self._pid_path}",
            f"--host=unix://{self.socket_path}",
            "--bridge=none",
            "--iptables=false",
            "--ip6tables=false",
        ]
        with open(self._run_dir / "dockerd.log", "wb") as engine_log:
            return subprocess.Popen(
                arguments,
                stdin=subprocess.DEVNULL,
                stdout=engine_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _wait_until_ready(self) -> str:
        assert self._process is not None
        deadline = time.monotonic() + ENGINE_START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise DockerUnavailableError(
                    f"dockerd exited with code {self._process.returncode} while starting. "
                    f"Its log ends with:\n{self.engine_log_tail()}\nSet {SKIP_ENV_VAR}=1 to skip "
                    "the Docker image tests on a machine where Docker cannot run."
                )
            probe = self.docker(
                "version", "--format", "{{.Server.Version}}", timeout=10, check=False
            )
            if probe.returncode == 0:
                return probe.stdout.strip()
            time.sleep(0.5)
        raise DockerUnavailableError(
            f"dockerd did not respond on {self.socket_path} within "
            f"{ENGINE_START_TIMEOUT_SECONDS} s. Its log ends with:\n{self.engine_log_tail()}"
        )

    def engine_log_tail(self) -> str:
        if self._run_dir is None:
            return ""
        try:
            text = (self._run_dir / "dockerd.log").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return text[-OUTPUT_TAIL_CHARS:]

    def stop(self) -> None:
        """Stop dockerd by its pid, then any process left in its process group, and clean up."""
        process = self._process
        if process is not None:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=ENGINE_STOP_TIMEOUT_SECONDS)
                except subprocess.TimeoutExpired:
                    self._log(
                        f"dockerd pid {process.pid} did not stop within "
                        f"{ENGINE_STOP_TIMEOUT_SECONDS} s of SIGTERM; sending SIGKILL"
                    )
                    process.kill()
                    process.wait()
            # dockerd stops the containerd it started. Any process still left in its group (the
            # group id is dockerd's pid, because of start_new_session) is ended here.
            try:
                os.killpg(process.pid, signal.SIGKILL)
                self._log(f"Ended processes left in dockerd's process group {process.pid}")
            except ProcessLookupError:
                pass
            # dockerd bind-mounts its data root onto itself, and leaves that mount behind when
            # it fails to start.
            unmount_below(self.data_root, include_directory=True)
            self._log(f"Docker engine stopped: dockerd pid {process.pid} exited")
            self._process = None
        if self._run_dir is not None:
            unmount_below(self._run_dir)
            shutil.rmtree(self._run_dir, ignore_errors=True)
            self._run_dir = None
        self._lock.close()

    def docker(
        self, *arguments: str | Path, timeout: float = RUN_TIMEOUT_SECONDS, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run the docker CLI against this engine."""
        env = {
            name: value
            for name, value in os.environ.items()
            if name not in {"DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"}
        }
        assert self._run_dir is not None, "The Docker engine is not running"
        env |= {
            "DOCKER_HOST": f"unix://{self.socket_path}",
            "DOCKER_CONFIG": str(self._run_dir / "client-config"),
            "DOCKER_BUILDKIT": "0",
        }
        return run_command([self._client, *arguments], timeout, env, check)

    def image_config(self, image: str) -> dict[str, Any]:
        """Return the image's Config section: labels, environment, entrypoint and user."""
        inspected = self.docker("image", "inspect", "--format", "{{json .Config}}", image)
        return json.loads(inspected.stdout)

    def image_exists(self, image: str) -> bool:
        return self.docker("image", "inspect", image, check=False).returncode == 0


def unmount_below(directory: Path, include_directory: bool = False) -> None:
    """Unmount every mount point below directory, deepest first, so that deleting it is safe.

    With include_directory, a mount on directory itself is unmounted too.
    """
    resolved = str(directory.resolve())
    try:
        mount_lines = Path("/proc/self/mountinfo").read_text(encoding="utf-8").splitlines()
    except OSError:
        return
    # The fifth field of a mountinfo line is the mount point, with spaces escaped as \040.
    mount_points = {line.split()[4].replace("\\040", " ") for line in mount_lines}
    selected = [
        point
        for point in mount_points
        if point.startswith(resolved + "/") or (include_directory and point == resolved)
    ]
    for mount_point in sorted(selected, reverse=True):
        run_command(["umount", "--lazy", mount_point], 60, check=False)


def host_ca_fingerprint() -> str:
    """Return a short hash of the host's CA bundle and local CA files, which the base copies."""
    digest = hashlib.sha256()
    for path in [CA_BUNDLE, *sorted(LOCAL_CA_DIR.rglob("*"))]:
        if path.is_file():
            digest.update(str(path).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def ensure_base_image(engine: DockerEngine, cache: Path, log: Log) -> str:
    """Return BASE_IMAGE, importing it from the cached root file system if it is missing.

    The root file system is built with debootstrap when no cached tarball matches the recipe
    version and the host's CA certificates.
    """
    recipe = f"{BASE_RECIPE_VERSION}-{host_ca_fingerprint()}"
    if engine.image_exists(BASE_IMAGE):
        labels = engine.image_config(BASE_IMAGE).get("Labels") or {}
        if labels.get(BASE_RECIPE_LABEL) == recipe:
            log(f"Reusing base image {BASE_IMAGE} (recipe {recipe})")
            return BASE_IMAGE
    tarball = cache / f"rootfs-{DEBIAN_SUITE}-py311-{recipe}.tar"
    if tarball.is_file():
        log(f"Reusing cached root file system {tarball}")
    else:
        build_root_filesystem(tarball, log)
    changes = [*BASE_IMAGE_CHANGES, f"LABEL {BASE_RECIPE_LABEL}={recipe}"]
    change_arguments = [argument for change in changes for argument in ("--change", change)]
    engine.docker("import", *change_arguments, tarball, BASE_IMAGE, timeout=BUILD_TIMEOUT_SECONDS)
    log(f"Imported {tarball.name} as base image {BASE_IMAGE}")
    return BASE_IMAGE


def build_root_filesystem(tarball: Path, log: Log) -> None:
    """Debootstrap Debian with Python 3, add the airbyte user and a venv, and write a tarball."""
    ensure_debian_packages({"debootstrap": "debootstrap"}, log)
    mirror = os.environ.get(DEBIAN_MIRROR_ENV_VAR) or DEFAULT_DEBIAN_MIRROR
    tarball.parent.mkdir(parents=True, exist_ok=True)
    work_dir = Path(tempfile.mkdtemp(prefix="rootfs-", dir=tarball.parent))
    root = work_dir / "root"
    try:
        log(f"Running debootstrap {DEBIAN_SUITE} (minbase) from {mirror} into {root}")
        run_command(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(DEBIAN_PACKAGES)}",
                DEBIAN_SUITE,
                root,
                mirror,
            ],
            DEBOOTSTRAP_TIMEOUT_SECONDS,
        )
        copy_host_ca_certificates(root)
        uid = str(AIRBYTE_UID)
        run_command(["chroot", root, "groupadd", "--system", "--gid", uid, "airbyte"], 60)
        run_command(
            [
                "chroot",
                root,
                "useradd",
                "--system",
                "--uid",
                uid,
                "--gid",
                uid,
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                "airbyte",
            ],
            60,
        )
        (root / "airbyte").mkdir(mode=0o755, exist_ok=True)
        os.chown(root / "airbyte", AIRBYTE_UID, AIRBYTE_UID)
        run_command(["chroot", root, "python3", "-m", "venv", VENV_DIR], 300)
        for package_cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for entry in (root / package_cache).glob("*"):
                if entry.is_file():
                    entry.unlink()
        partial = work_dir / "rootfs.tar"
        run_command(["tar", "--numeric-owner", "-C", root, "-cf", partial, "."], 600)
        for stale in tarball.parent.glob(f"rootfs-{DEBIAN_SUITE}-py311-*.tar"):
            stale.unlink()
        os.replace(partial, tarball)
        log(f"Wrote root file system {tarball} ({tarball.stat().st_size // 2**20} MiB)")
    finally:
        unmount_below(work_dir)
        shutil.rmtree(work_dir, ignore_errors=True)


def copy_host_ca_certificates(root: Path) -> None:
    """Copy the host's CA bundle and local CA files into root, for HTTPS through its proxy."""
    if CA_BUNDLE.is_file():
        target = root / CA_BUNDLE.relative_to("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        shutil.copyfile(CA_BUNDLE, target)
    if LOCAL_CA_DIR.is_dir():
        shutil.copytree(LOCAL_CA_DIR, root / LOCAL_CA_DIR.relative_to("/"), dirs_exist_ok=True)


def build_connector_image(engine: DockerEngine, repo_root: Path, base_image: str, log: Log) -> str:
    """Build CONNECTOR_IMAGE from the repository's Dockerfile on base_image, and return it."""
    log(f"Building {CONNECTOR_IMAGE} from {repo_root / 'Dockerfile'} on {base_image}")
    # The RUN steps use the host network so that pip reaches PyPI, because the engine has no
    # bridge network.
    built = engine.docker(
        "build",
        "--network=host",
        f"--build-arg=BASE_IMAGE={base_image}",
        f"--tag={CONNECTOR_IMAGE}",
        repo_root,
        timeout=BUILD_TIMEOUT_SECONDS,
    )
    steps: list[str] = []
    for line in built.stdout.splitlines():
        if line.startswith("Step "):
            steps.append(line.strip())
        elif "Using cache" in line and steps:
            steps[-1] += " (cached)"
    for step in steps:
        log(f"  {step}")
    # Earlier builds of the tag are left untagged. Removing them keeps the data root from
    # growing with every source change, and the layers of this build stay cached.
    engine.docker("image", "prune", "--force", timeout=BUILD_TIMEOUT_SECONDS)
    log(f"Built {CONNECTOR_IMAGE}")
    return CONNECTOR_IMAGE


def run_image(
    engine: DockerEngine,
    image: str,
    arguments: Sequence[str],
    *,
    network: str = "none",
    mount_dir: Path | None = None,
    entrypoint: str | None = None,
    log: Log | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `docker run --rm` with mount_dir, if given, mounted read-only at /secrets."""
    options = ["--rm", f"--network={network}"]
    if mount_dir is not None:
        options += ["--volume", f"{mount_dir}:{CONTAINER_SECRETS_DIR}:ro"]
    if entrypoint is not None:
        options += ["--entrypoint", entrypoint]
    completed = engine.docker("run", *options, image, *arguments, check=False)
    if log is not None:
        log(
            f"Ran `docker run {' '.join(options)} {image} {' '.join(arguments)}`: exit code "
            f"{completed.returncode}, {len(completed.stdout.splitlines())} stdout lines"
        )
    return completed


def run_connector_image(
    engine: DockerEngine,
    image: str,
    command: str,
    work_dir: Path,
    config: Mapping[str, Any] | None = None,
    catalog: Mapping[str, Any] | None = None,
    log: Log | None = None,
) -> ConnectorRun:
    """Run one Airbyte command in the image on the host network, and parse every stdout line.

    Config and catalog are written to a directory under work_dir that the container's user
    (uid 1000) can read, and mounted at /secrets.
    """
    mount_dir = work_dir / "secrets"
    mount_dir.mkdir(exist_ok=True)
    mount_dir.chmod(0o755)
    arguments = [command]
    for name, content, option in (
        ("config.json", config, "--config"),
        ("catalog.json", catalog, "--catalog"),
    ):
        if content is None:
            continue
        path = mount_dir / name
        path.write_text(json.dumps(content), encoding="utf-8")
        path.chmod(0o644)
        arguments += [option, f"{CONTAINER_SECRETS_DIR}/{name}"]
    completed = run_image(engine, image, arguments, network="host", mount_dir=mount_dir, log=log)
    messages = [parse_message(line) for line in completed.stdout.splitlines() if line.strip()]
    return ConnectorRun(completed.returncode, completed.stdout, completed.stderr, messages)
