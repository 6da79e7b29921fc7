# Baton: the README's two commands, `make demo` and `make test`.
# Each installs the Debian packages it needs (idempotent), builds, and runs.

SWIFT ?= swift
# Debian packages the demo needs at run time.
DEMO_PACKAGES :=
# Debian packages the test suite links against or drives.
TEST_PACKAGES := libssl-dev openssl corosync libcpg-dev libquorum-dev libvotequorum-dev libcmap-dev libqb-dev iproute2 pkg-config

.PHONY: demo test build bench bench-quick
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

# issue 3's benchmark: real batond processes on loopback (release builds). `bench-quick` is the
# smoke-test size (about a minute).
bench:
	scripts/ensure-packages openssl
	$(SWIFT) build -c release --product batond
	$(SWIFT) build -c release --product baton
	.build/release/baton bench

bench-quick:
	scripts/ensure-packages openssl
	$(SWIFT) build -c release --product batond
	$(SWIFT) build -c release --product baton
	.build/release/baton bench --quick
