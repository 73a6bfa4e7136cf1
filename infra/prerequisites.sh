#!/usr/bin/env bash
# The system packages the project needs, in one place (Debian's package names).
#
#   infra/prerequisites.sh check    print the packages this machine lacks, one a line;
#                                   exit 1 if it lacks any
#   infra/prerequisites.sh install  apt-get install what it lacks, as root or with passwordless
#                                   sudo; otherwise print the one command that would, and exit 1
#
# `make install` runs `install` before anything else, so `make up` and `make test` set up a
# fresh machine themselves; .ci/run calls it only when `make` itself is missing. Python is the
# one thing never installed here: which one to use is the user's choice (PYTHON, as in the
# Makefile). HUB_CHROMIUM names the browser tests' Chromium, as in tests/browser/conftest.py.
set -euo pipefail

PYTHON=${PYTHON:-python3}
CHROMIUM=${HUB_CHROMIUM:-/usr/bin/chromium}
MIN_PYTHON=3.11
MIN_JAVA=17 # Kafka 4.x brokers and tools refuse older Java
JAVA_PACKAGE=openjdk-17-jre-headless

missing=()

fail() {
  printf 'prerequisites: %s\n' "$*" >&2
  exit 1
}

# Sets java_major to the major version of the `java` on PATH, or 0 when there is none.
# Handles "1.8.0_392" (Java 8 numbering), "17.0.15", "21" and a leading "Picked up ..." line.
read_java_major() {
  java_major=0
  local out
  out=$(java -version 2>&1) || return 0
  if [[ $out =~ version\ \"([0-9]+)(\.([0-9]+))? ]]; then
    java_major=${BASH_REMATCH[1]}
    if [ "$java_major" = 1 ]; then java_major=${BASH_REMATCH[3]:-0}; fi
  fi
}

# python3.X-venv: Debian keeps ensurepip, which `python3 -m venv` needs, out of python3.X.
check_python() {
  command -v "$PYTHON" >/dev/null 2>&1 ||
    fail "no $PYTHON: install Python $MIN_PYTHON or later (Debian 12: apt-get install python3)," \
      "or name it with PYTHON=..."
  local version
  version=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  "$PYTHON" -c "import sys; sys.exit(sys.version_info < (${MIN_PYTHON/./, }))" ||
    fail "$PYTHON is Python $version; the project needs $MIN_PYTHON or later (PYTHON=...)"
  "$PYTHON" -c 'import ensurepip' >/dev/null 2>&1 || missing+=("python$version-venv")
}

find_missing() {
  missing=()
  command -v make >/dev/null 2>&1 || missing+=(make)
  check_python
  read_java_major
  [ "$java_major" -ge "$MIN_JAVA" ] || missing+=("$JAVA_PACKAGE")
  command -v mvn >/dev/null 2>&1 || missing+=(maven)
  # The browser tests drive this Chromium through Playwright (never a downloaded browser).
  [ -x "$CHROMIUM" ] || missing+=(chromium)
}

install_missing() {
  local as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
      as_root=(sudo)
    else
      fail "this machine lacks ${missing[*]}; install them as root, then run make again:"$'\n' \
        "   apt-get update && apt-get install -y ${missing[*]}"
    fi
  fi
  printf 'prerequisites: installing %s with apt-get\n' "${missing[*]}" >&2
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
}

case "${1:-}" in
check)
  find_missing
  if [ ${#missing[@]} -gt 0 ]; then printf '%s\n' "${missing[@]}"; fi
  [ ${#missing[@]} -eq 0 ]
  ;;
install)
  find_missing
  [ ${#missing[@]} -eq 0 ] && exit 0
  install_missing
  find_missing
  [ ${#missing[@]} -eq 0 ] && exit 0
  read_java_major
  if [ "$java_major" -gt 0 ] && [ "$java_major" -lt "$MIN_JAVA" ]; then
    fail "the java on PATH is still Java $java_major after installing $JAVA_PACKAGE;" \
      "pick Java $MIN_JAVA with: update-alternatives --config java"
  fi
  fail "still missing after apt-get: ${missing[*]} (make, java and mvn are looked up on PATH," \
    "Chromium at $CHROMIUM)"
  ;;
*)
  fail "usage: $0 check|install"
  ;;
esac
