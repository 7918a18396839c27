#include "arrcert/revocation.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <atomic>
#include <fstream>

#include <unistd.h>

#include "test_pki.h"
#include "threads.h"

namespace arrcert {
namespace {

testing::Issued& issuer()
{
    static testing::Issued ca = testing::issue({.subject = {{{"CN", "CRL CA"}}}, .ca = true});
    return ca;
}

std::string crl(std::initializer_list<std::string> serials)
{
    const std::int64_t now = testing::now();
    return testing::crl_pem(issuer(), serials, now - 60, now + 3600);
}

TEST(CrlSourceTest, ReloadsWhenTheFileChangesNotBefore)
{
    const testing::TempFile file(crl({}));
    CrlSource source;
    ASSERT_TRUE(source.add_file(file.path()).ok());
    const std::int64_t start = testing::now();
    const auto first = source.current(start, 60);
    EXPECT_TRUE(first.event.empty());
    EXPECT_EQ(X509_CRL_get_REVOKED(sk_X509_CRL_value(first.snapshot->stack(), 0)), nullptr);

    file.write(crl({"05", "06"}));
    const auto within = source.current(start + 30, 60);  // inside the interval: no look at the file
    EXPECT_TRUE(within.event.empty());
    EXPECT_EQ(within.snapshot.get(), first.snapshot.get());

    const auto after = source.current(start + 61, 60);
    EXPECT_EQ(after.event, "CRLs reloaded: 1 in force");
    EXPECT_NE(after.snapshot->identity(), first.snapshot->identity());
    EXPECT_EQ(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(sk_X509_CRL_value(after.snapshot->stack(), 0))), 2);
    // The old snapshot stays valid for whoever still holds it.
    EXPECT_EQ(X509_CRL_get_REVOKED(sk_X509_CRL_value(first.snapshot->stack(), 0)), nullptr);

    const auto unchanged = source.current(start + 200, 60);  // looked, nothing changed
    EXPECT_TRUE(unchanged.event.empty());
    EXPECT_EQ(unchanged.snapshot.get(), after.snapshot.get());
}

TEST(CrlSourceTest, BrokenFileKeepsThePreviousCrlsAndIsReportedOnce)
{
    const testing::TempFile file(crl({"05"}));
    CrlSource source;
    ASSERT_TRUE(source.add_file(file.path()).ok());
    const auto good = source.current(0, 1);
    file.write("-----BEGIN X509 CRL-----\ngarbage\n-----END X509 CRL-----\n");
    const auto broken = source.current(10, 1);
    EXPECT_TRUE(broken.event_is_error);
    EXPECT_NE(broken.event.find(file.path()), std::string::npos);
    EXPECT_NE(broken.event.find("previous CRLs stay in force"), std::string::npos);
    EXPECT_EQ(broken.snapshot.get(), good.snapshot.get());
    EXPECT_TRUE(source.current(20, 1).event.empty());  // once per change
    std::filesystem::remove(file.path());
    const auto gone = source.current(30, 1);
    EXPECT_TRUE(gone.event_is_error);
    EXPECT_EQ(gone.snapshot.get(), good.snapshot.get());
    file.write(crl({"05", "09"}));
    const auto back = source.current(40, 1);
    EXPECT_FALSE(back.event_is_error);
    EXPECT_NE(back.snapshot.get(), good.snapshot.get());
}

TEST(CrlSourceTest, DirectoryOfCrls)
{
    const std::string directory = "/tmp/arrcert-unit-crls-" + std::to_string(::getpid());
    std::filesystem::create_directories(directory);
    {
        std::ofstream(directory + "/a.crl") << crl({"01"});
        std::ofstream(directory + "/b.r0") << crl({"02"});
        std::ofstream(directory + "/README") << "ignored";
    }
    CrlSource source;
    EXPECT_TRUE(source.add_directory(directory).ok());
    EXPECT_EQ(source.current(0, 60).snapshot->size(), 2U);
    std::filesystem::remove_all(directory);
    EXPECT_NE(source.add_directory(directory).error().find(directory), std::string::npos);
}

TEST(CrlSourceTest, UnreadableFileIsNamedAtConfigurationTime)
{
    CrlSource source;
    EXPECT_NE(source.add_file("/nonexistent.crl").error().find("/nonexistent.crl"), std::string::npos);
    const testing::TempFile junk("junk");
    EXPECT_NE(source.add_file(junk.path()).error().find(junk.path()), std::string::npos);
}

TEST(CrlSourceTest, ManyReadersOneReloader)
{
    const testing::TempFile file(crl({}));
    CrlSource source;
    ASSERT_TRUE(source.add_file(file.path()).ok());
    file.write(crl({"01"}));
    std::atomic<int> reloads{0};
    testing::on_threads(8, [&](int /*thread*/) {
        for (int i = 0; i < 200; ++i) {
            const auto current = source.current(100, 3600);
            ASSERT_NE(current.snapshot, nullptr);
            reloads += current.event.empty() ? 0 : 1;
        }
    });
    EXPECT_EQ(reloads.load(), 1);
}

}  // namespace
}  // namespace arrcert
