#!/bin/bash
set -eu

# SLURM START
# Configures and starts a single-host Slurm cluster on this machine, as root,
# for the real Slurm tests (tests/test_slurm.py).  Idempotent: a cluster that
# already answers is left running.  Needs Debian's slurmctld, slurmd, munge
# (see .ci/install-system.sh).  Use 'tests/slurm-start.sh -h' for help.
# Each node has SLURM_GPUS (default 4) stand-in GPUs through GRES: Slurm
# binds a job step to them and sets CUDA_VISIBLE_DEVICES as on a GPU node,
# the "devices" being /dev/tty0..N-1 (gres.conf); with the CPUs more than
# the machine has (config_overrides), packing is tested as on a real node.

usage()
{
  echo "usage: tests/slurm-start.sh [-h] [-s]"
  echo "  configures $CONF for a cluster on $(hostname -s)"
  echo "  with ${SLURM_NODES:-2} node(s) of ${SLURM_CPUS:-8} CPUs and ${SLURM_GPUS:-4} stand-in"
  echo "  GPUs each (SLURM_NODES, SLURM_CPUS, SLURM_GPUS)"
  echo "  and starts munged, slurmctld and slurmd"
  echo "  -s: stop the daemons this script started, and exit"
}

CONF=${SLURM_CONF:-/etc/slurm/slurm.conf}
STATE=/var/lib/async-local-slurm
MARK="# written by async-local tests/slurm-start.sh"
STOP=0

while getopts "hs" OPTION
do
  case $OPTION in
    h) usage ; exit 0 ;;
    s) STOP=1 ;;
    *) usage >&2 ; exit 2 ;;
  esac
done
shift $(( OPTIND - 1 ))
if (( ${#} != 0 ))
then
  echo "slurm-start.sh: error: unexpected argument '$1'" >&2
  exit 2
fi

fail()
{
  echo "slurm-start.sh: error: $*" >&2
  exit 1
}

stop_pidfile()
# Stop the daemon whose pid is in file $1, if it runs, and wait (10 s at
# most) until it has exited, so that a new one can take its port
{
  local PID i
  [[ -r $1 ]] || return 0
  PID=$( cat "$1" )
  if [[ -n $PID ]] && kill -0 "$PID" 2> /dev/null
  then
    kill "$PID"
    for (( i = 0 ; i < 100 ; i++ ))
    do
      kill -0 "$PID" 2> /dev/null || break
      sleep 0.1
    done
  fi
  rm -f "$1"
}

if (( STOP ))
then
  for NAME in "$STATE"/slurmd-*.pid "$STATE/slurmctld.pid"
  do
    stop_pidfile "$NAME"
  done
  echo "slurm-start.sh: stopped"
  exit 0
fi

(( $( id -u ) == 0 )) || fail "must run as root"
for PROGRAM in munged slurmctld slurmd sinfo
do
  command -v "$PROGRAM" > /dev/null || \
    fail "$PROGRAM not found: install slurmctld slurmd munge (.ci/install-system.sh)"
done

HOST=$( hostname -s )
NODES=${SLURM_NODES:-2}
CPUS=${SLURM_CPUS:-8}
GPUS=${SLURM_GPUS:-4}
GRES_CONF=$( dirname "$CONF" )/gres.conf

# munge: a key, and the daemon
if [[ ! -s /etc/munge/munge.key ]]
then
  mkdir -p /etc/munge
  dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2> /dev/null
  chown munge:munge /etc/munge/munge.key
  chmod 400 /etc/munge/munge.key
fi
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
if ! munge -n 2> /dev/null | unmunge > /dev/null 2>&1
then
  runuser -u munge -- munged
  for (( i = 0 ; i < 50 ; i++ ))
  do
    munge -n 2> /dev/null | unmunge > /dev/null 2>&1 && break
    sleep 0.1
  done
  munge -n | unmunge > /dev/null || fail "munged did not start"
fi

# slurm.conf: written by us, or not touched
if [[ -e $CONF ]] && ! grep -q -F "$MARK" "$CONF"
then
  fail "$CONF exists and was not written by this script: not touching it"
fi
NODE_NAMES=()
for (( i = 1 ; i <= NODES ; i++ ))
do
  NODE_NAMES+=( "$HOST-$i" )
done
NODE_LIST=$( IFS=, ; echo "${NODE_NAMES[*]}" )
mkdir -p "$( dirname "$CONF" )" "$STATE/ctld" "$STATE/log"
NEW_CONF=$( mktemp )
{
  echo "$MARK"
  echo "# A cluster of $NODES node(s) on this one host, for tests only."
  echo "ClusterName=asynclocal"
  echo "SlurmctldHost=$HOST"
  echo "SlurmUser=root"
  echo "SlurmdUser=root"
  echo "AuthType=auth/munge"
  echo "CredType=cred/munge"
  echo "MpiDefault=none"
  echo "ProctrackType=proctrack/pgid"
  echo "TaskPlugin=task/none"
  echo "SelectType=select/cons_tres"
  echo "SelectTypeParameters=CR_CPU"
  echo "SchedulerType=sched/backfill"
  echo "ReturnToService=2"
  echo "AccountingStorageType=accounting_storage/none"
  echo "JobAcctGatherType=jobacct_gather/none"
  echo "JobCompType=jobcomp/none"
  echo "StateSaveLocation=$STATE/ctld"
  echo "SlurmdSpoolDir=$STATE/spool-%n"
  echo "SlurmctldPidFile=$STATE/slurmctld.pid"
  echo "SlurmdPidFile=$STATE/slurmd-%n.pid"
  echo "SlurmctldLogFile=$STATE/log/slurmctld.log"
  echo "SlurmdLogFile=$STATE/log/slurmd-%n.log"
  echo "SlurmctldPort=6817"
  echo "KillWait=5"
  # MinJobAge <= 4: sbatch --wait polls every 2 s (else up to every 32 s)
  echo "MinJobAge=4"
  echo "InactiveLimit=0"
  echo "SlurmdTimeout=60"
  # the nodes claim more CPUs than this machine has, and stand-in GPUs
  echo "SlurmdParameters=config_overrides"
  echo "GresTypes=gpu"
  PORT=17000
  for NAME in "${NODE_NAMES[@]}"
  do
    PORT=$(( PORT + 1 ))
    echo "NodeName=$NAME NodeHostname=$HOST NodeAddr=127.0.0.1 Port=$PORT CPUs=$CPUS Gres=gpu:$GPUS State=UNKNOWN"
  done
  echo "PartitionName=debug Nodes=$NODE_LIST Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES"
} > "$NEW_CONF"
RESTART=0
if ! cmp -s "$NEW_CONF" "$CONF"
then
  cp "$NEW_CONF" "$CONF"
  chmod 644 "$CONF"
  RESTART=1
fi
rm -f "$NEW_CONF"
# the stand-in devices of the GPUs: the first GPUS virtual consoles
GRES_LINE="NodeName=$NODE_LIST Name=gpu File=/dev/tty[0-$(( GPUS - 1 ))]"
if [[ ! -e $GRES_CONF ]] || [[ $( cat "$GRES_CONF" ) != "$MARK"$'\n'"$GRES_LINE" ]]
then
  if [[ -e $GRES_CONF ]] && ! grep -q -F "$MARK" "$GRES_CONF"
  then
    fail "$GRES_CONF exists and was not written by this script: not touching it"
  fi
  printf '%s\n%s\n' "$MARK" "$GRES_LINE" > "$GRES_CONF"
  chmod 644 "$GRES_CONF"
  RESTART=1
fi

running()
# Is the daemon whose pid is in file $1 running?
{
  [[ -r $1 ]] && kill -0 "$( cat "$1" )" 2> /dev/null
}

if (( RESTART ))
then
  for NAME in "$STATE"/slurmd-*.pid "$STATE/slurmctld.pid"
  do
    stop_pidfile "$NAME"
  done
fi

if ! running "$STATE/slurmctld.pid"
then
  slurmctld -f "$CONF"
fi
for NAME in "${NODE_NAMES[@]}"
do
  if ! running "$STATE/slurmd-$NAME.pid"
  then
    mkdir -p "$STATE/spool-$NAME"
    slurmd -f "$CONF" -N "$NAME"
  fi
done

# Wait until every node is idle (or busy with a job): at most 30 s
for (( i = 0 ; i < 300 ; i++ ))
do
  STATES=$( sinfo --noheader --format "%t" --nodes "$NODE_LIST" 2> /dev/null | \
              sort -u | tr '\n' ' ' ) || true
  if [[ $STATES =~ ^((idle|mix|alloc)\ )+$ ]]
  then
    sinfo
    echo "slurm-start.sh: OK: $NODES node(s) on $HOST: $NODE_LIST"
    exit 0
  fi
  if [[ $STATES =~ down|drain|unk ]] && (( i % 50 == 49 ))
  then
    scontrol update NodeName="$NODE_LIST" State=RESUME 2> /dev/null || true
  fi
  sleep 0.1
done
sinfo || true
tail -n 20 "$STATE"/log/*.log >&2 || true
fail "nodes not idle after 30 s: state: $STATES (logs: $STATE/log)"
