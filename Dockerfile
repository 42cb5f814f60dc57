# syntax=docker/dockerfile:1
# moodstream's images, one per target:
#   docker build -t moodstream:0.1.0 .                       CPU: TensorFlow + LiteRT (int8 TFLite classifier)
#   docker build -t moodstream-gpu:0.1.0 --target gpu .      GPU: CUDA base, Keras 3 on JAX for the classifier
# Every image runs one process (`moodstream worker <stage>`, `moodstream dashboard`, ...) as a non-root
# user, under tini so that the two-stage shutdown gets the orchestrator's SIGTERM. The models are inside:
# the project's trained ones come with the wheel, the borrowed fallback is fetched and sha256-checked here.

ARG PYTHON_VERSION=3.11
ARG DEBIAN_RELEASE=bookworm

# ----- the wheel, with the trained models and the page's front-end files inside (its build fetches
# socket.io-client from the npm registry at the lockfile's version, checked against its integrity hash)
FROM python:${PYTHON_VERSION}-slim-${DEBIAN_RELEASE} AS wheel
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY moodstream moodstream
COPY models models
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

# ----- GPU: a CUDA base; the classifier's Keras runs on JAX (its CUDA wheels bring cuDNN and cuBLAS) --
FROM nvidia/cuda:12.8.1-base-ubuntu24.04 AS gpu
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv tini ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --create-home --home-dir /home/moodstream moodstream
ENV MOODSTREAM_CACHE=/opt/moodstream/cache
COPY --from=wheel /wheels /wheels
RUN python3 -m venv /opt/moodstream \
 && /opt/moodstream/bin/pip install --no-cache-dir /wheels/*.whl "jax[cuda12]>=0.4.30" \
 && /opt/moodstream/bin/moodstream assets fetch \
 && rm -rf /opt/moodstream/cache/wheels /wheels
ENV PATH=/opt/moodstream/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    KERAS_BACKEND=jax \
    XLA_PYTHON_CLIENT_PREALLOCATE=false \
    MOODSTREAM_CONFIG=/etc/moodstream/moodstream.toml \
    MOODSTREAM__RUNTIME__HEALTH_FILE=/tmp/moodstream/health \
    MOODSTREAM__CLASSIFIER__RUNTIME=keras \
    KERAS_HOME=/tmp/keras \
    MPLCONFIGDIR=/tmp/matplotlib \
    TF_CPP_MIN_LOG_LEVEL=2
USER 10001:10001
WORKDIR /home/moodstream
STOPSIGNAL SIGTERM
ENTRYPOINT ["tini", "--", "moodstream"]
CMD ["--help"]

# ----- CPU (the default target, last): the package and its dependencies in a virtual environment, and the fetched assets ----------
# The dependencies come from requirements.lock, each file checked against its sha256 (x86-64).
FROM python:${PYTHON_VERSION}-slim-${DEBIAN_RELEASE} AS cpu-env
ENV MOODSTREAM_CACHE=/opt/moodstream/cache
COPY --from=wheel /wheels /wheels
COPY requirements.lock /tmp/requirements.lock
RUN python -m venv /opt/moodstream \
 && /opt/moodstream/bin/pip install --no-cache-dir --require-hashes -r /tmp/requirements.lock \
 && /opt/moodstream/bin/pip install --no-cache-dir --no-deps /wheels/*.whl \
 && /opt/moodstream/bin/moodstream assets fetch \
 && rm -rf /opt/moodstream/cache/wheels

FROM python:${PYTHON_VERSION}-slim-${DEBIAN_RELEASE} AS cpu
# tini forwards SIGTERM to the worker and reaps children (a worker is PID 1 otherwise).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --create-home --home-dir /home/moodstream moodstream
COPY --from=cpu-env /opt/moodstream /opt/moodstream
ENV PATH=/opt/moodstream/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    MOODSTREAM_CACHE=/opt/moodstream/cache \
    MOODSTREAM_CONFIG=/etc/moodstream/moodstream.toml \
    MOODSTREAM__RUNTIME__HEALTH_FILE=/tmp/moodstream/health \
    KERAS_HOME=/tmp/keras \
    MPLCONFIGDIR=/tmp/matplotlib \
    TF_CPP_MIN_LOG_LEVEL=2
USER 10001:10001
WORKDIR /home/moodstream
EXPOSE 8050
STOPSIGNAL SIGTERM
ENTRYPOINT ["tini", "--", "moodstream"]
CMD ["--help"]
