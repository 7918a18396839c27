// What a revocation source or a cache reports when a load, fetch or query ends: for the status
// page and its counters (status_area.h), from the parts that do the work.
#pragma once

#include <cstdint>
#include <string_view>

namespace arrcert {

enum class SourceKind : std::uint8_t { crl_file, crl_fetch, ocsp_responder, shared_cache };
std::string_view source_kind_name(SourceKind kind) noexcept;

// A load, fetch or query of a revocation source or cache, as it ended.
struct SourceEvent {
    SourceKind kind = SourceKind::crl_file;
    std::string_view name;  // the file, the URL or the cache
    bool ok = true;
    std::int64_t at = 0;             // UTC seconds
    std::int64_t next_update = -1;   // -1: none known
    std::string_view error;          // when !ok: fixed text, never a client's
    std::int64_t next_refresh = -1;  // when it is fetched again (-1: not planned)
    int failures = 0;                // failed in a row, on every process of the server
};

}  // namespace arrcert
