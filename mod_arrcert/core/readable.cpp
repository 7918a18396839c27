#include "arrcert/readable.h"

#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>

namespace arrcert {

Result<void> readable(const std::string& path, bool directory)
{
    std::error_code error;
    const std::filesystem::file_status status = std::filesystem::status(path, error);
    if (status.type() == std::filesystem::file_type::not_found) {
        return Result<void>::failure(path + ": no such " + (directory ? "directory" : "file"));
    }
    if (error) {  // a directory on the way that cannot be searched
        return Result<void>::failure(path + ": " + error.message());
    }
    if (std::filesystem::is_directory(status) != directory) {
        return Result<void>::failure(path + (directory ? " is not a directory" : " is a directory, not a file"));
    }
    // httpd reads its configuration as the user it starts as (root); children re-read the files.
    if (::access(path.c_str(), R_OK | (directory ? X_OK : 0)) != 0) {
        return Result<void>::failure(path + ": not readable by the user httpd starts as (" +
                                     std::error_code(errno, std::generic_category()).message() + ")");
    }
    return {};
}

}  // namespace arrcert
