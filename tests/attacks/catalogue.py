"""The attack catalogue: each entry is a model script, run as a submission on hidden data.

Probing attacks follow one convention: if the attack works, the script writes predictions and
exits 0 (the submission would be scored); if it fails, it exits 3. The expected verdict is what
the platform must answer.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Attack:
    name: str
    script: str
    reason: str | None  # failure reason expected; None means it must be scored
    detail: str = ""  # a piece of the failure detail expected
    dockerfile_extra: str = ""
    alternatives: tuple[str, ...] = ()  # other acceptable reasons, with why in the script
    # Where memory and processes are held by rlimits, not a cgroup (rootless Podman on cgroup
    # v1, docs/hpc.md): the reasons also acceptable there, and why.
    rlimit_alternatives: tuple[str, ...] = ()


PREAMBLE = """
import json, os, sys, time
IDS = [json.loads(l)["id"] for l in open("/input/inputs.jsonl")]
def predict(value="nothing", path="/output/predictions.jsonl"):
    with open(path, "w") as out:
        for i in IDS:
            out.write(json.dumps({"id": i, "prediction": value}) + "\\n")
def pwned():
    predict("PWNED"); sys.exit(0)
"""

ATTACKS = [
    Attack(
        "fork_bomb",
        """
while True:
    try:
        if os.fork() == 0:
            time.sleep(600); os._exit(0)
    except OSError:
        time.sleep(600)
""",
        "timeout",
    ),
    Attack(
        "memory_hog",
        """
hog = []
while True:
    hog.append(bytearray(32 * 1024 * 1024))
""",
        "out_of_memory",
        rlimit_alternatives=("crashed",),
    ),  # RLIMIT_DATA: a MemoryError, exit 1
    Attack(
        "cpu_spin_past_deadline",
        """
while True:
    pass
""",
        "timeout",
    ),
    Attack(
        "sigterm_ignoring_sleeper",
        """
import signal
signal.signal(signal.SIGTERM, signal.SIG_IGN)
time.sleep(3600)
""",
        "timeout",
    ),
    # /tmp is a tmpfs whose pages count against the memory limit: filling it ends either in
    # ENOSPC (the script then crashes) or in the memory limit.
    Attack(
        "tmp_filler",
        """
with open("/tmp/fill", "wb") as out:
    while True:
        out.write(b"x" * (1 << 20))
""",
        "crashed",
        alternatives=("out_of_memory",),
    ),
    Attack(
        "output_flood",
        """
n = 0
try:
    while True:
        with open(f"/output/junk-{n}", "wb") as out:
            out.write(b"x" * (1 << 20))
        n += 1
except OSError:
    pass
predict()
""",
        "output_too_large",
    ),
    Attack(
        "giant_prediction_line",
        """
with open("/output/predictions.jsonl", "w") as out:
    out.write(json.dumps({"id": IDS[0], "prediction": "x" * (6 << 20)}) + "\\n")
""",
        "output_too_large",
        alternatives=("crashed",),
    ),
    Attack(
        "stdout_and_stderr_flood",
        """
line = "flood " * 1000 + "\\n"
for _ in range(5000):
    sys.stdout.write(line); sys.stderr.write(line)
predict()
""",
        None,
    ),
    Attack(
        "root_filesystem_writes",
        """
for path in ("/etc/passwd", "/usr/bin/evil", "/app/evil", "/root/evil", "/evil"):
    try:
        open(path, "a").write("x"); pwned()
    except OSError:
        pass
sys.exit(3)
""",
        "crashed",
        "code 3",
    ),
    Attack(
        "setuid_binary_escalation",
        """
import subprocess
check = "import os, sys; sys.exit(0 if os.geteuid() == 0 else 1)"
if subprocess.run(["/usr/local/bin/supy", "-c", check]).returncode == 0:
    pwned()
sys.exit(3)
""",
        "crashed",
        "code 3",
        dockerfile_extra="RUN cp /usr/bin/python3 /usr/local/bin/supy && chmod 4755 /usr/local/bin/supy",
    ),
    Attack(
        "sudo_su_and_etc",
        """
import shutil, subprocess
for tool in ("sudo", "su"):
    if shutil.which(tool) and subprocess.run([tool, "-c", "true"], input=b"", capture_output=True).returncode == 0:
        pwned()
try:
    open("/etc/shadow").read(); pwned()
except OSError:
    pass
try:
    os.setuid(0); pwned()
except OSError:
    pass
sys.exit(3)
""",
        "crashed",
        "code 3",
    ),
    Attack(
        "label_hunt_on_the_filesystem",
        """
canary = ("LABEL" + "CANARY").encode()  # not written whole: this file is searched too
# Every place a platform could have put something: the mounts, writable and config folders.
places = ["/input", "/output", "/tmp", "/app", "/etc", "/run", "/var", "/home", "/root", "/mnt",
          "/srv", "/opt", "/dev/shm"]
for place in places:
  for root, dirs, files in os.walk(place):
    for name in files:
        try:
            with open(os.path.join(root, name), "rb") as f:
                if canary in f.read(50 << 20):
                    pwned()
        except OSError:
            pass
for path in ("/proc/self/environ", "/proc/self/mounts", "/proc/self/cmdline"):
    if canary in open(path, "rb").read():
        pwned()
sys.exit(3)
""",
        "crashed",
        "code 3",
    ),
    Attack(
        "other_processes_environments",
        """
for pid in os.listdir("/proc"):
    if pid.isdigit() and int(pid) != os.getpid():
        for what in ("environ", "cmdline"):
            try:
                data = open(f"/proc/{pid}/{what}", "rb").read()
            except OSError:
                continue
            if b"LABELCANARY" in data or b"MASTER" in data or b"TOKEN" in data:
                pwned()
if any(k for k in os.environ if "KEY" in k or "TOKEN" in k or "DATABASE" in k):
    pwned()
sys.exit(3)
""",
        "crashed",
        "code 3",
    ),
    Attack(
        "reach_the_platform_on_loopback",
        """
import socket
if sorted(os.listdir("/sys/class/net")) != ["lo"]:
    pwned()
for port in (8000, 8111, 80, 2375):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1); pwned()
    except OSError:
        pass
sys.exit(3)
""",
        "crashed",
        "code 3",
    ),
    Attack(
        "not_json",
        """
open("/output/predictions.jsonl", "w").write("this is not json\\n")
""",
        "invalid_output",
        "line 1: not valid JSON",
    ),
    Attack(
        "missing_ids",
        """
with open("/output/predictions.jsonl", "w") as out:
    out.write(json.dumps({"id": IDS[0], "prediction": "x"}) + "\\n")
""",
        "invalid_output",
        "have no prediction",
    ),
    Attack(
        "duplicate_ids",
        """
predict()
with open("/output/predictions.jsonl", "a") as out:
    out.write(json.dumps({"id": IDS[0], "prediction": "x"}) + "\\n")
""",
        "invalid_output",
        "duplicate id",
    ),
    Attack(
        "unknown_ids",
        """
with open("/output/predictions.jsonl", "w") as out:
    out.write(json.dumps({"id": "not-an-item", "prediction": "x"}) + "\\n")
""",
        "invalid_output",
        "line 1: unknown id",
    ),
    Attack(
        "nan_prediction",
        """
with open("/output/predictions.jsonl", "w") as out:
    for i in IDS:
        out.write('{"id": "%s", "prediction": NaN}\\n' % i)
""",
        "invalid_output",
        "not valid JSON",
    ),
    Attack(
        "symlink_out_of_output",
        """
os.symlink("/etc/passwd", "/output/predictions.jsonl")
""",
        "invalid_output",
        "as a regular file",
    ),
    Attack(
        "zombies_left_behind",
        """
for _ in range(20):
    if os.fork() == 0:
        os._exit(0)          # never reaped: a zombie
for _ in range(5):
    if os.fork() == 0:
        time.sleep(600); os._exit(0)   # still running when the main process ends
predict()
""",
        None,
    ),
]
