#!/usr/bin/env bash
# Installs the Debian 12 packages jobd needs to build, test and package,
# when missing; does nothing (one dpkg-query) when all are there.
set -euo pipefail

packages=(
  gcc g++ cmake ninja-build pkg-config
  libzmq3-dev cppzmq-dev capnproto libcapnp-dev
  libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev
  libsystemd-dev libsqlite3-dev libgtest-dev libgmock-dev libbenchmark-dev
  libpng-dev libssl-dev
  # workers that run as their tasks' owner, and signals sent with that owner's rights
  libcap-dev
  # systemd-analyze and systemd-sysusers (packaging tests), bash completion
  systemd bash-completion
  # the .deb: cpack's DEB generator runs dpkg-shlibdeps (dpkg-dev), which needs file
  dpkg-dev file
  # the sanitizer and fuzz builds
  clang libclang-rt-dev
  # Debian's interpreter, which scripts and tests name as /usr/bin/python3
  python3
)

installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${packages[@]}" 2>/dev/null || true)
missing=()
for p in "${packages[@]}"; do
  grep -qx "$p install ok installed" <<<"$installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "setup: installing ${missing[*]}" >&2
sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 update -qq
"${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
