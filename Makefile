# Baton: the README's two commands, `make demo` and `make test`.
# Each installs the Debian packages it needs (idempotent), builds, and runs.

SWIFT ?= swift
# Debian packages every build links against (system OpenSSL, Corosync client libraries).
BUILD_PACKAGES := pkg-config libssl-dev libcpg-dev libquorum-dev libvotequorum-dev libcmap-dev libqb-dev
# The demo also makes a throwaway CA with the openssl command.
DEMO_PACKAGES := $(BUILD_PACKAGES) openssl
# The tests also drive real corosync nodes in network namespaces and openssl as a foreign peer.
TEST_PACKAGES := $(BUILD_PACKAGES) openssl corosync iproute2

.PHONY: demo test build
demo:
	scripts/ensure-packages $(DEMO_PACKAGES)
	$(SWIFT) build -c release --product batond
	$(SWIFT) build -c release --product baton
	.build/release/baton demo

build:
	$(SWIFT) build

test:
	scripts/ensure-packages $(TEST_PACKAGES)
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
