// The Corosync client libraries as one Clang module for Swift (Debian: libcpg-dev,
// libquorum-dev, libvotequorum-dev, libcmap-dev, libqb-dev).
#ifndef BATON_CCOROSYNC_SHIM_H
#define BATON_CCOROSYNC_SHIM_H
#include <sys/uio.h>
#include <stdlib.h>
#include <corosync/corotypes.h>
#include <corosync/cpg.h>
#include <corosync/quorum.h>
#include <corosync/votequorum.h>
#include <corosync/cmap.h>

// CS_TRACK_* are plain macros; re-export them as constants Swift can see as values.
static const unsigned int baton_cs_track_current = CS_TRACK_CURRENT;
static const unsigned int baton_cs_track_changes = CS_TRACK_CHANGES;
#endif
