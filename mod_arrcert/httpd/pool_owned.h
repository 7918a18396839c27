// C++ objects whose lifetime is a pool's: deleted by a cleanup when the pool is cleared.
#pragma once

#include <apr_pools.h>

#include <utility>

namespace arrcert::httpd {

template <class T>
apr_status_t delete_object(void* object) noexcept
{
    delete static_cast<T*>(object);
    return APR_SUCCESS;
}

template <class T, class... Args>
T* make_pool_owned(apr_pool_t* pool, Args&&... args)
{
    T* object = new T(std::forward<Args>(args)...);
    apr_pool_cleanup_register(pool, object, delete_object<T>, apr_pool_cleanup_null);
    return object;
}

}  // namespace arrcert::httpd
