#!/usr/bin/env bash
# Installs the Debian 12 packages jobd needs to build and test, when missing.
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config
  libzmq3-dev cppzmq-dev capnproto libcapnp-dev
  libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev
  libsystemd-dev libsqlite3-dev libgtest-dev libgmock-dev libbenchmark-dev
  libpng-dev libssl-dev
  systemd dpkg-dev bash-completion
  clang libclang-rt-dev
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "setup: installing ${missing[*]}" >&2
sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 update -qq
"${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
