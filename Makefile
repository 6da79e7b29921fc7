# Baton: the README's two commands, `make demo` and `make test`.
# Each installs the Debian packages it needs (idempotent), builds, and runs.

SWIFT ?= swift
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
