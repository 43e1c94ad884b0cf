"""A one-node SLURM cluster on localhost, for the SLURM executor's tests.

Needs Debian's slurm-wlm and munge packages and root (slurmd runs jobs as
their users). Everything lives in a temporary directory: a munge key and
socket of its own, a slurm.conf on free ports, state and spool directories, the
daemons' logs. The daemons run in the foreground as our children, so that
stopping the cluster ends exactly what it started. A daemon that does not come
up is an error carrying its log, not a skipped test: CI must install the
packages (see the report in the executor's documentation).
"""
from __future__ import annotations

import os
import secrets
import signal
import shutil
import socket
import subprocess
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scancel", "scontrol", "srun")
START_TIMEOUT = 60.0

CONF = """\
ClusterName=deffetest
SlurmctldHost=localhost
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={root}/munge/munge.socket
SlurmUser=root
SlurmdUser=root
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=1,sched_min_interval=100000
SlurmdParameters=config_overrides
ReturnToService=2
MpiDefault=none
KillWait=2
MinJobAge=600
InactiveLimit=0
NodeName=localhost CPUs=2 RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""


class ClusterError(RuntimeError):
    pass


def _free_ports(n: int) -> list[int]:
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


class SlurmCluster:
    def __init__(self, root: Path):
        self.root = Path(root).absolute()
        self.conf = self.root / "slurm.conf"
        self.procs: dict[str, subprocess.Popen] = {}

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    # ---- start
    def start(self) -> "SlurmCluster":
        missing = [d for d in DAEMONS if shutil.which(d) is None and not Path("/usr/sbin", d).exists()]
        if missing:
            raise ClusterError(f"not installed: {', '.join(missing)} (apt-get install slurm-wlm munge)")
        if os.geteuid() != 0:
            raise ClusterError("a local SLURM cluster needs root (slurmd runs the jobs)")
        for d in ("munge", "state", "spool", "log"):
            (self.root / d).mkdir(parents=True, exist_ok=True)
        try:
            self._start_munge()
            ctld_port, slurmd_port = _free_ports(2)
            self.conf.write_text(CONF.format(root=self.root, ctld_port=ctld_port, slurmd_port=slurmd_port))
            self._daemon("slurmctld", ["slurmctld", "-D", "-i", "-f", str(self.conf)], self.root / "log/slurmctld.log")
            self._wait(lambda: self._ok(["scontrol", "ping"]) and "UP" in self._out(["scontrol", "ping"]),
                       "slurmctld", self.root / "log/slurmctld.log")
            self._daemon("slurmd", ["slurmd", "-D", "-f", str(self.conf), "-N", "localhost"],
                         self.root / "log/slurmd.log")
            self._wait(lambda: self._out(["sinfo", "-h", "-o", "%t"]).strip() == "idle", "slurmd",
                       self.root / "log/slurmd.log")
        except BaseException:
            self.stop()
            raise
        return self

    def _start_munge(self) -> None:
        key = self.root / "munge" / "munge.key"
        key.write_bytes(secrets.token_bytes(1024))
        key.chmod(0o600)
        (self.root / "munge").chmod(0o755)   # munged wants a socket directory others can reach
        m = self.root / "munge"
        self._daemon("munged", ["munged", "-F", "-f", f"--key-file={key}", f"--socket={m}/munge.socket",
                                f"--pid-file={m}/munged.pid", f"--log-file={m}/munged.log",
                                f"--seed-file={m}/munged.seed"], m / "munged.log")
        sock = m / "munge.socket"
        self._wait(lambda: sock.exists() and self._ok(["munge", "-S", str(sock), "-n"]), "munged",
                   m / "munged.log")

    def _daemon(self, name: str, cmd: list[str], log: Path) -> None:
        out = open(self.root / "log" / f"{name}.console", "wb")
        self.procs[name] = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=self.env,
                                            stdin=subprocess.DEVNULL)
        out.close()

    def _wait(self, ready, name: str, log: Path) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            proc = self.procs[name]
            if proc.poll() is not None:
                raise ClusterError(f"{name} exited with status {proc.returncode}:\n{self._logs(name, log)}")
            if ready():
                return
            time.sleep(0.3)
        raise ClusterError(f"{name} did not come up in {START_TIMEOUT:g} s:\n{self._logs(name, log)}")

    def _logs(self, name: str, log: Path) -> str:
        return f"{_tail(log)}\n--- console:\n{_tail(self.root / 'log' / f'{name}.console')}"

    def _ok(self, cmd: list[str]) -> bool:
        return subprocess.run(cmd, env=self.env, capture_output=True, timeout=30).returncode == 0

    def _out(self, cmd: list[str]) -> str:
        p = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=30)
        return p.stdout if p.returncode == 0 else ""

    # ---- use
    def run(self, *cmd: str) -> str:
        """A client command against this cluster; its stdout (CalledProcessError when it fails)."""
        return subprocess.run(list(cmd), env=self.env, capture_output=True, text=True, timeout=60,
                              check=True).stdout

    def jobs(self) -> dict[str, str]:
        """job id -> state of every job the controller holds (array tasks expanded)."""
        out = self.run("squeue", "-h", "-r", "-t", "all", "-o", "%i|%T")
        return dict(line.split("|", 1) for line in out.split())

    def wait_state(self, job_id: str, states: set[str | None], timeout: float = 30) -> str | None:
        """The job's state once it is one of ``states`` (None: not in the listing)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.jobs().get(job_id)
            if state in states:
                return state
            time.sleep(0.2)
        raise AssertionError(f"job {job_id} not in {states} after {timeout} s: {self.jobs().get(job_id)}")

    def steps(self, job_id: str | None = None) -> list[int]:
        """Pids of this cluster's slurmstepd processes (of one job: ``[<id>.batch]``; an array task goes by
        its own job id): a job's run is over when its step daemon is gone."""
        pids = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                title = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                if not title.startswith("slurmstepd:"):
                    continue
                env = (proc / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if f"SLURM_CONF={self.conf}".encode() in env and (job_id is None or f"[{job_id}." in title):
                pids.append(int(proc.name))
        return pids

    # ---- stop
    def stop(self) -> None:
        # jobs first, and their step daemons gone, so that nothing of this cluster outlives it
        if "slurmd" in self.procs and self.procs["slurmd"].poll() is None:
            subprocess.run(["scancel", "-u", "root"], env=self.env, capture_output=True, timeout=30)
            deadline = time.monotonic() + 15
            while self.steps() and time.monotonic() < deadline:
                time.sleep(0.2)
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self.procs.pop(name, None)
            if proc is None or proc.poll() is not None:
                continue
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        for pid in self.steps():   # a step daemon that lost its slurmd would wait for it forever
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
