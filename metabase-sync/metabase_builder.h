// build_metabase(): turns one ConfigSnapshot (raw directory entries) into a
// validated Metabase for this server.
//
// This is where every attribute is mapped to its metabase field, defaults are
// applied and units converted (through defaults.h), and where every value is
// validated. It is a pure function: same snapshot, same metabase, byte for byte
// (lists are sorted), so the writer can skip unchanged content. On the first
// invalid value it returns SyncErrc::InvalidConfiguration with the detail
// "<DN>: <attribute>: <problem>" and builds nothing: a half-valid metabase is
// never produced. Provenance time and serial are left to the writer.
// Not responsible for: reading LDAP (config_reader.h), policy judgement such as
// open relays or routing loops (lint.h).
#pragma once

#include "gateway/common/result.h"
#include "metabase-sync/directory_entry.h"
#include "proto/metabase.pb.h"

namespace msync {

gw::Result<gw::metabase::Metabase> build_metabase(const ConfigSnapshot& snapshot);

}  // namespace msync
