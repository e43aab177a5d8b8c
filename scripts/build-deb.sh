#!/usr/bin/env bash
# Builds levee's Debian package (debian/) from this tree with dpkg-buildpackage and debhelper,
# binary only and unsigned, and moves what it makes into build-deb/:
#   build-deb/levee_VERSION_ARCH.deb          the package
#   build-deb/levee-dbgsym_VERSION_ARCH.deb   its debug symbols
#   build-deb/levee_VERSION_ARCH.{buildinfo,changes}
# The compile happens in build-deb/cmake (debian/rules), from scratch every time: `dh clean`
# runs first, as on a build daemon.
#
#   scripts/build-deb.sh        # JOBS=N for N parallel compile jobs (default: nproc)
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=${JOBS:-$(nproc)}
version=$(dpkg-parsechangelog -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
project_version=$(sed -n 's/^project(levee VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
if [ "$version" != "$project_version" ]; then
  echo "build-deb: debian/changelog says $version, CMakeLists.txt says $project_version;" \
    "add a changelog entry (dch -v $project_version)" >&2
  exit 1
fi

mkdir -p build-deb
start=$(date +%s)
# -J: parallel=N in DEB_BUILD_OPTIONS, which dh passes to ninja.
dpkg-buildpackage -b -us -uc -J"$jobs"
# dpkg-buildpackage writes next to the source tree; keep the results inside it.
for f in ../levee_"${version}"_"${arch}".{deb,buildinfo,changes} \
  ../levee-dbgsym_"${version}"_"${arch}".deb; do
  if [ -e "$f" ]; then mv -f "$f" build-deb/; fi
done
deb=build-deb/levee_${version}_${arch}.deb
echo "build-deb: $deb ($(du -h "$deb" | cut -f1)) in $(($(date +%s) - start))s"
