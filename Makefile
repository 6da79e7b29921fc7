# Baton: the README's two commands, `make demo` and `make test`.
# Each installs the Debian packages it needs (idempotent), builds, and runs.

SWIFT ?= swift
CONFORMANCE_DIR ?= ../shared/conformance/pacemaker-2.1.5
# Debian packages every build links against (system OpenSSL, Corosync client libraries, libxml2).
BUILD_PACKAGES := pkg-config libssl-dev libcpg-dev libquorum-dev libvotequorum-dev libcmap-dev libqb-dev libxml2-dev
# The demo also makes a throwaway CA with the openssl command, runs two sites of corosync nodes in
# network namespaces (corosync, iproute2), a floating address (resource-agents' IPaddr2) and a
# small service answering on it (scripts/ocf/Answer: python3).
DEMO_PACKAGES := $(BUILD_PACKAGES) openssl corosync iproute2 resource-agents python3-minimal
# The tests also drive real corosync nodes in network namespaces, openssl as a foreign peer, and
# a real Pacemaker (crm_ticket) for the Pacemaker site back end.
TEST_PACKAGES := $(BUILD_PACKAGES) openssl corosync iproute2 pacemaker pacemaker-cli-utils
# The executor's tests also run Debian's fence agents (fence_dummy) and ocf:pacemaker:ping
# (which runs ping) inside namespaces.
TEST_PACKAGES += fence-agents iputils-ping
# batond's /metrics is checked with promtool (Debian's prometheus; its service is not started).
TEST_PACKAGES += prometheus
# batond's status page is checked in a real headless browser.
TEST_PACKAGES += chromium
# make deb's package is built, linted and unpacked by the install test.
TEST_PACKAGES += dpkg-dev lintian
# ... and installed into a fresh Debian 12 root made by mmdebstrap from Debian's archive.
TEST_PACKAGES += mmdebstrap
# The quorum device is compared with corosync-qnetd/qdevice in the same test bed.
TEST_PACKAGES += corosync-qnetd corosync-qdevice

.PHONY: demo test build bench bench-quick geo-bench geo-bench-quick scheduler-bench install deb
# `make install [DESTDIR=staging-root] [PREFIX=/usr]`: release builds, then scripts/install
# (binaries, man pages, shell completion, systemd units, directories; nothing started).
PREFIX ?= /usr
demo:
	scripts/ensure-packages $(DEMO_PACKAGES)
	$(SWIFT) build -c release --product batond
	$(SWIFT) build -c release --product baton-crmd
	$(SWIFT) build -c release --product baton
	$(SWIFT) build -c release --product baton-full
	.build/release/baton demo

build:
	$(SWIFT) build

test:
	scripts/ensure-packages $(TEST_PACKAGES)
	$(SWIFT) build --build-tests
	@# swift-argument-parser's man page generator, for the install test (scripts/install).
	$(SWIFT) build --product generate-manual
	$(SWIFT) test --skip-build
	@# Pacemaker 2.1.5 scheduler regression suite: fails on a regression of a test listed in
	@# Tests/Conformance/expected-pass.txt (summaries) or Tests/Conformance/expected-graph-pass.txt
	@# (graphs); skipped when the suite data is not next to the repository.
	@if [ -d $(CONFORMANCE_DIR)/xml ]; then \
	  .build/debug/baton conformance $(CONFORMANCE_DIR) --expect Tests/Conformance/expected-pass.txt \
	    --graphs --expect-graphs Tests/Conformance/expected-graph-pass.txt --diffs regressions --quiet; \
	else \
	  echo "conformance: skipped: $(CONFORMANCE_DIR)/xml not found (the suite data lives outside the repository)"; \
	fi
	@# Differential test against crm_simulate 2.1.5 on 300 generated CIBs (about a minute): fails
	@# when a seed listed in Tests/Differential/expected-agree.txt disagrees on the summary, or one
	@# in expected-graph-agree.txt on the transition graph; skipped, saying why,
	@# when crm_simulate is not installed.
	.build/debug/baton differential --seed 1 --count 300 --expect Tests/Differential/expected-agree.txt \
	  --expect-graphs Tests/Differential/expected-graph-agree.txt --quiet --skip-without-crm-simulate

# issue 3's benchmark: real batond processes on loopback (release builds). `bench-quick` is the
# smoke-test size (about a minute).
bench:
	scripts/ensure-packages $(DEMO_PACKAGES)
	$(SWIFT) build -c release --product batond
	$(SWIFT) build -c release --product baton
	$(SWIFT) build -c release --product baton-full
	.build/release/baton bench

bench-quick:
	scripts/ensure-packages $(DEMO_PACKAGES)
	$(SWIFT) build -c release --product batond
	$(SWIFT) build -c release --product baton
	$(SWIFT) build -c release --product baton-full
	.build/release/baton bench --quick

# issue 15's benchmark: the demo's geo bed per configuration (N = 1, 10, 100 guarded witnesses,
# and impaired links through baton-impair), root. `geo-bench-quick`: N = 1, one run per row.
geo-bench geo-bench-quick:
	scripts/ensure-packages $(DEMO_PACKAGES)
	for product in batond baton-crmd baton-impair baton baton-full; do \
	  $(SWIFT) build -c release --product $$product || exit 1; \
	done
	.build/release/baton geo-bench $(if $(filter geo-bench-quick,$@),--quick,)

# issue 5's benchmark: our CIB parse + scheduler against crm_simulate -R -Q on synthetic clusters
# (8x200 ... 32x4000, steady and a node down), with peak memory and growth. A few minutes;
# crm_simulate's 32x4000 runs take most of it. Not part of `make test`.
scheduler-bench:
	scripts/ensure-packages $(BUILD_PACKAGES) pacemaker pacemaker-cli-utils
	$(SWIFT) build -c release --product baton
	$(SWIFT) build -c release --product baton-full
	.build/release/baton scheduler-benchmark --table --repeats 5
	.build/release/baton scheduler-benchmark --growth

install:
	scripts/ensure-packages $(BUILD_PACKAGES)
	for product in baton baton-full batond baton-crmd baton-agent-tools generate-manual; do \
	  $(SWIFT) build -c release --product $$product || exit 1; \
	done
	scripts/install --bin .build/release --destdir "$(DESTDIR)" --prefix $(PREFIX)

# `make deb`: the Debian package (.build/deb/baton_VERSION_ARCH.deb) from the same staged tree,
# with lintian's verdict when lintian is installed.
deb:
	scripts/ensure-packages $(BUILD_PACKAGES) dpkg-dev
	for product in baton baton-full batond baton-crmd baton-agent-tools generate-manual; do \
	  $(SWIFT) build -c release --product $$product || exit 1; \
	done
	scripts/make-deb --bin .build/release --out .build/deb
