# Baton: the README's two commands, `make demo` and `make test`.
# Each installs the Debian packages it needs (idempotent), builds, and runs.

SWIFT ?= swift
CONFORMANCE_DIR ?= ../shared/conformance/pacemaker-2.1.5
# Debian packages the demo needs at run time.
DEMO_PACKAGES :=
# Debian packages the test suite links against or drives.
TEST_PACKAGES := libxml2-dev pkg-config

.PHONY: demo test build
demo:
	scripts/ensure-packages $(DEMO_PACKAGES)
	$(SWIFT) build -c release --product baton
	.build/release/baton demo

build:
	$(SWIFT) build

test:
	scripts/ensure-packages $(TEST_PACKAGES)
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	@# Pacemaker 2.1.5 scheduler regression suite: fails on a regression of a test listed in
	@# Tests/Conformance/expected-pass.txt; skipped when the suite data is not next to the repository.
	@if [ -d $(CONFORMANCE_DIR)/xml ]; then \
	  $(SWIFT) build --product baton && \
	  .build/debug/baton conformance $(CONFORMANCE_DIR) --expect Tests/Conformance/expected-pass.txt --diffs regressions --quiet; \
	else \
	  echo "conformance: skipped: $(CONFORMANCE_DIR)/xml not found (the suite data lives outside the repository)"; \
	fi
