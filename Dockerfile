# Deffe, again: the framework, its plugins and the simulator installed (run_deffe on the PATH),
# and the repository (examples, tests, benchmarks) in /opt/deffe.
#   make -f Makefile.docker build     the image
#   make -f Makefile.docker run       the main example; its run directory lands in ./runs
#   make -f Makefile.docker test      the tests, in the image's test stage (the image plus Chromium and SLURM)
FROM python:3.11-slim AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

# The pinned requirements first: this layer is rebuilt only when they change.
# The CPU wheel index: torch==2.13.0 from plain PyPI on Linux is the CUDA build (GBs of CUDA
# libraries the project never uses); download.pytorch.org/whl/cpu has the CPU build of the same
# version (2.13.0+cpu, which ==2.13.0 matches). Every other package comes from PyPI.
COPY requirements.txt /opt/deffe/requirements.txt
RUN pip install -r /opt/deffe/requirements.txt --extra-index-url https://download.pytorch.org/whl/cpu

# The repository, then its packages (framework, plugins, simulator with its data) and run_deffe;
# --no-deps: the requirements above are all there is.
COPY . /opt/deffe
RUN pip install --no-deps /opt/deffe

# The simulator's kernel compiled once here (about 15 s), into a numba cache any user may read and
# write: containers are thrown away, so a cache written at run time would be lost.
ENV NUMBA_CACHE_DIR=/var/cache/numba MPLCONFIGDIR=/tmp/matplotlib DEFFE_DIR=/opt/deffe
RUN python -c "import simulator as s; s.prepare(s.zoo.load('resnet18'), 'cpu+1xV100-pcie3').compile_kernel()" \
    && chmod -R a+rwX /var/cache/numba

# Run directories are written relative to the current directory: mount a directory here.
WORKDIR /runs
VOLUME /runs

# The main example (in a checkout: python3 framework/run_deffe.py -config example/config.json).
CMD ["run_deffe", "-config", "/opt/deffe/example/config.json"]

# The tests' stage (make -f Makefile.docker test): the image plus the programs the tests start themselves,
# as .ci/run installs them: Chromium opens the HTML report headless, SLURM with munge is a one-node cluster
# on loopback. The image users run stays without them.
FROM runtime AS test
# Debian's package versions change with each point release of the base image: pinned, the build would break
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends chromium slurm-wlm munge \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/deffe
CMD ["python3", "-m", "pytest", "-q"]

# The default target (docker build .): the image without the test programs.
FROM runtime
