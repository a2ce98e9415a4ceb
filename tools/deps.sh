#!/bin/sh
# Install the Debian packages kerasnative needs, only those missing (fast when
# everything is present). Run as root (CI and the dev machines are root).
set -e
PKGS="r-base-dev r-cran-rcpp r-cran-rcppeigen r-cran-rcppparallel r-cran-jsonlite r-cran-magrittr
r-cran-testthat r-cran-r6 r-cran-roxygen2 r-cran-knitr r-cran-rmarkdown r-cran-ggplot2 r-cran-withr
libprotobuf-dev protobuf-compiler libhdf5-dev zlib1g-dev pkg-config python3-h5py pandoc
dataset-fashion-mnist libopenmpi-dev openmpi-bin r-cran-png r-cran-jpeg r-cran-yaml"
missing=""
for p in $PKGS; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -z "$missing" ]; then
  echo "deps: all Debian packages present"
  exit 0
fi
echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" = "0" ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "deps: done"
