#!/usr/bin/env bash
# Builds the Debian package of jobd: a Release build for the /usr prefix in
# its own build directory (the programs, plugins and manual pages only; no
# tests or benchmarks), then cpack -G DEB, and checks what the package holds.
#   packaging/build-deb.sh                  -> build-deb/jobd_<version>_<arch>.deb
#   BUILD_DIR=out packaging/build-deb.sh    another build directory
#   JOBS=1 packaging/build-deb.sh           fewer parallel compile jobs
# Install it with: sudo apt install ./build-deb/jobd_*.deb
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
build_dir=${BUILD_DIR:-build-deb}
cmake -S . -B "$build_dir" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_INSTALL_PREFIX=/usr \
  -DBUILD_TESTING=OFF >/dev/null
cmake --build "$build_dir" -j "${JOBS:-$(nproc)}" --target jobd_package_parts

rm -f "$build_dir"/jobd_*.deb
(cd "$build_dir" && cpack -G DEB >/dev/null)
deb=$(ls "$build_dir"/jobd_*.deb)

# A package that lacks its parts, or its maintainer scripts, is no package.
contents=$(dpkg-deb -c "$deb")
for path in ./usr/bin/jobd ./usr/bin/jobctl /jobd/jobd-worker /jobd/plugins/sha256.so \
            /jobd/plugins/grayscale.so ./usr/lib/systemd/system/jobd.service \
            ./usr/lib/sysusers.d/jobd.conf ./etc/jobd/jobd.conf \
            ./usr/share/man/man8/jobd.8 ./usr/share/man/man1/jobctl.1 \
            ./usr/share/bash-completion/completions/jobctl; do
  if ! grep -qF -- "$path" <<<"$contents"; then
    echo "build-deb: $deb lacks $path" >&2
    exit 1
  fi
done
control=$(dpkg-deb -f "$deb")
for field in Depends Maintainer Version Architecture; do
  if ! grep -q "^$field: ." <<<"$control"; then
    echo "build-deb: $deb has no $field field" >&2
    exit 1
  fi
done
for script in postinst prerm postrm conffiles; do
  if ! dpkg-deb --info "$deb" "$script" >/dev/null 2>&1; then
    echo "build-deb: $deb has no $script" >&2
    exit 1
  fi
done

echo "$deb"
dpkg-deb -f "$deb" Package Version Architecture Depends
