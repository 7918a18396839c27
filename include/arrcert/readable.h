// What is wrong with a file or directory that the configuration names, in an administrator's
// words (no such file, a directory where a file was meant, not readable), before OpenSSL reads it.
#pragma once

#include <string>

#include "arrcert/result.h"

namespace arrcert {

Result<void> readable(const std::string& path, bool directory);

}  // namespace arrcert
