#!/bin/bash
set -eu

# INSTALL SYSTEM
# Installs the Debian packages that the launcher tests run for real:
# Slurm (slurmctld, slurmd, its client), munge, MPICH (mpiexec, mpicc),
# and shellcheck.  Idempotent and non-interactive; needs root (or sudo).
# Use '.ci/install-system.sh -h' for help

PACKAGES=( slurmctld slurmd slurm-client munge mpich libmpich-dev shellcheck )

usage()
{
  echo "usage: .ci/install-system.sh [-h]"
  echo "  installs with apt-get: ${PACKAGES[*]}"
}

if [[ ${1:-} == -h ]]
then
  usage
  exit 0
fi
if (( ${#} != 0 ))
then
  usage >&2
  exit 2
fi

MISSING=()
for PACKAGE in "${PACKAGES[@]}"
do
  if ! dpkg-query -W -f '${Status}' "$PACKAGE" 2> /dev/null | \
       grep -q "install ok installed"
  then
    MISSING+=( "$PACKAGE" )
  fi
done
if (( ${#MISSING[@]} == 0 ))
then
  echo "install-system.sh: all installed: ${PACKAGES[*]}"
  exit 0
fi

SUDO=()
if (( $( id -u ) != 0 ))
then
  SUDO=( sudo )
fi
export DEBIAN_FRONTEND=noninteractive
echo "install-system.sh: installing: ${MISSING[*]}"
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" apt-get install -y -q --no-install-recommends "${MISSING[@]}"
