#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for the Slurm executor's tests and benchmark:
# Debian's slurm-wlm and munge, slurmctld and slurmd started by hand (no systemd needed).
# Safe to run again: does only what is missing. Needs root.
set -euo pipefail

say() { printf '\033[1m[arena slurm]\033[0m %s\n' "$*"; }
die() { printf '[arena slurm] error: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root"

LOG_DIR=${ARENA_SETUP_LOG_DIR:-/var/log}
NODE=$(hostname -s)
CONF=/etc/slurm/slurm.conf
# slurmctld and slurmd find each other by this name: make sure it resolves (to loopback).
getent hosts "$NODE" >/dev/null || echo "127.0.0.1 $NODE" >> /etc/hosts

if ! command -v slurmctld >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
  say "installing Debian's slurm-wlm and munge"
  [ -n "${ARENA_APT_UPDATED:-}" ] || DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi

if [ ! -s /etc/munge/munge.key ]; then mungekey --create >/dev/null 2>&1 || mungekey -c; fi
chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
mkdir -p /run/munge && chown munge:munge /run/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  say "starting munged"
  runuser -u munge -- munged --force >/dev/null 2>&1 || munged --force
  for _ in $(seq 1 20); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.5; done
fi

CPUS=$(nproc)
MEM=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
mkdir -p /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cat > "$CONF.new" <<CONF
# Written by Arena's scripts/slurm.sh: a one-node cluster for tests.
ClusterName=arena-test
SlurmctldHost=$NODE
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
SlurmdTimeout=60
MinJobAge=600
KillWait=5
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=$NODE CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=arena Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
CONF
if ! cmp -s "$CONF.new" "$CONF" 2>/dev/null; then
  mv "$CONF.new" "$CONF"
  pkill -x slurmctld 2>/dev/null || true
  pkill -x slurmd 2>/dev/null || true
  sleep 1
else
  rm -f "$CONF.new"
fi

# Slurm's accounting database, when asked (ARENA_SLURM_ACCOUNTING=1): Debian's MariaDB and slurmdbd,
# for `arena rewards grant` (sacctmgr). The cluster's own slurm.conf is left as it is (no restart
# of slurmctld under other users' jobs); sacctmgr reads $ACCT_CONF, the same cluster with
# AccountingStorageType=accounting_storage/slurmdbd. A real site has that in its slurm.conf, with
# AccountingStorageEnforce=limits so that GrpTRESMins holds.
ACCT_CONF=/etc/slurm/accounting/slurm.conf
ensure_accounting() {
  if ! command -v slurmdbd >/dev/null 2>&1 || ! command -v mariadbd >/dev/null 2>&1; then
    say "installing Debian's mariadb-server and slurmdbd"
    [ -n "${ARENA_APT_UPDATED:-}" ] || DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server slurmdbd >/dev/null
  fi
  if ! mariadb-admin ping >/dev/null 2>&1; then
    say "starting MariaDB (its socket only)"
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
    nohup mariadbd-safe --skip-networking >>"$LOG_DIR/arena-mariadb.out" 2>&1 &
    for _ in $(seq 1 60); do mariadb-admin ping >/dev/null 2>&1 && break; sleep 1; done
  fi
  mariadb -e "CREATE DATABASE IF NOT EXISTS slurm_acct_db; CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurm'; GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';"
  umask 077
  cat > /etc/slurm/slurmdbd.conf <<DBD
# Written by Arena's scripts/slurm.sh: accounting for the one-node test cluster.
AuthType=auth/munge
DbdHost=localhost
DbdPort=6819
SlurmUser=root
PidFile=/run/slurmdbd.pid
LogFile=/var/log/slurm/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=slurm
StorageLoc=slurm_acct_db
DBD
  umask 022
  pgrep -x slurmdbd >/dev/null || { say "starting slurmdbd"; slurmdbd >>"$LOG_DIR/arena-slurmdbd.out" 2>&1; }
  mkdir -p "$(dirname "$ACCT_CONF")"
  { grep -v '^AccountingStorage' "$CONF"; echo "AccountingStorageType=accounting_storage/slurmdbd";
    echo "AccountingStorageHost=localhost"; echo "AccountingStoragePort=6819"; } > "$ACCT_CONF"
  for _ in $(seq 1 30); do SLURM_CONF=$ACCT_CONF sacctmgr -n list cluster >/dev/null 2>&1 && break; sleep 1; done
  SLURM_CONF=$ACCT_CONF sacctmgr -n -P list cluster format=Cluster | grep -qx arena-test || \
    SLURM_CONF=$ACCT_CONF sacctmgr -i add cluster arena-test >/dev/null
  # The GPU TRES, as slurmctld registers it on a GPU cluster (AccountingStorageTRES=gres/gpu); this
  # cluster's slurmctld does not talk to slurmdbd, so it is registered here, then slurmdbd reloads.
  if [ "$(mariadb -N slurm_acct_db -e "SELECT COUNT(*) FROM tres_table WHERE type='gres' AND name='gpu'")" = 0 ]; then
    mariadb slurm_acct_db -e "INSERT INTO tres_table (creation_time, deleted, type, name) VALUES (UNIX_TIMESTAMP(), 0, 'gres', 'gpu')"
    kill "$(cat /run/slurmdbd.pid)" && for _ in $(seq 1 20); do pgrep -x slurmdbd >/dev/null || break; sleep 0.5; done
    slurmdbd >>"$LOG_DIR/arena-slurmdbd.out" 2>&1
    for _ in $(seq 1 30); do SLURM_CONF=$ACCT_CONF sacctmgr -n list cluster >/dev/null 2>&1 && break; sleep 1; done
  fi
  say "slurmdbd answers with MariaDB behind it (sacctmgr: SLURM_CONF=$ACCT_CONF)"
}
[ "${ARENA_SLURM_ACCOUNTING:-0}" = 1 ] && ensure_accounting

pgrep -x slurmctld >/dev/null || { say "starting slurmctld"; slurmctld >>"$LOG_DIR/arena-slurmctld.out" 2>&1; }
pgrep -x slurmd >/dev/null || { say "starting slurmd"; slurmd >>"$LOG_DIR/arena-slurmd.out" 2>&1; }
for _ in $(seq 1 60); do
  state=$(sinfo -h -n "$NODE" -o %T 2>/dev/null || true)
  case "$state" in idle*|mixed*|allocated*) say "Slurm node $NODE is $state (partition arena)"; exit 0 ;; esac
  case "$state" in down*|drain*) scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true ;; esac
  sleep 1
done
die "the Slurm node did not come up; see /var/log/slurm/"
