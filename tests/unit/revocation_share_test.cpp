// What the processes of a server share of fetched CRLs and OCSP responses: sealed files, one
// fetch lock per document, the count of failed fetches, and when a document is fetched again.
// Two RevocationShare objects on one directory stand for two httpd processes.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "arrcert/revocation_share.h"
#include "test_pki.h"

namespace arrcert {
namespace {

using SharedDirectory = testing::TempDirectory;  // one directory, shared as by httpd's processes

std::string file_of(const SharedDirectory& directory, const std::string& name)
{
    return directory.path() + "/" + name + ".der";
}

TEST(RevocationShareTest, RetriesPauseTenSecondsThenTwiceAsLongUpToTheCap)
{
    EXPECT_EQ(retry_pause(1), 10);
    EXPECT_EQ(retry_pause(2), 20);
    EXPECT_EQ(retry_pause(3), 40);
    EXPECT_EQ(retry_pause(4), 80);
    EXPECT_EQ(retry_pause(5), retry_cap_seconds);
    EXPECT_EQ(retry_pause(1000), retry_cap_seconds);
}

TEST(RevocationShareTest, ADocumentIsFetchedAgainAtItsRefreshPointOrInterval)
{
    // A window of 1000 s from 10000: 80% is at 10800.
    EXPECT_EQ(next_refresh(10000, 10000, 11000, 86400, 80), 10800);
    EXPECT_EQ(next_refresh(10000, 10000, 11000, 60, 80), 10060);  // the interval comes first
    EXPECT_EQ(next_refresh(10000, 10000, 11000, 86400, 50), 10500);
    // Fetched past the point (the CA has not published a newer one): the interval, not at once.
    EXPECT_EQ(next_refresh(10900, 10000, 11000, 60, 80), 10960);
    EXPECT_EQ(next_refresh(10000, 0, -1, 60, 80), 10060);  // no window known
}

TEST(RevocationShareTest, AProcessReadsWhatAnotherWroteWithTheTimeItWasFetched)
{
    const SharedDirectory directory;
    const CacheSecret secret = random_cache_secret();
    RevocationShare writer(directory.path(), secret, nullptr);
    const RevocationShare reader(directory.path(), secret, nullptr);
    const std::string name = RevocationShare::name_for("crl", "http://ca.example/ca.crl");
    EXPECT_EQ(reader.stamp(name), 0);
    EXPECT_FALSE(reader.read(name, 1024));

    writer.write(name, "the CRL's bytes", 1700000000, 0);
    const auto document = reader.read(name, 1024);
    ASSERT_TRUE(document);
    EXPECT_EQ(document->bytes, "the CRL's bytes");
    EXPECT_EQ(document->written, 1700000000);
    EXPECT_EQ(document->stamp, reader.stamp(name));
    EXPECT_FALSE(reader.read(name, 4));  // larger than the reader takes

    // A new version is a new file (renamed over the old): its stamp differs.
    writer.write(name, "a newer CRL", 1700000100, 0);
    EXPECT_NE(reader.stamp(name), document->stamp);
    EXPECT_EQ(reader.read(name, 1024)->written, 1700000100);
    struct stat status {};
    ASSERT_EQ(stat(file_of(directory, name).c_str(), &status), 0);
    EXPECT_EQ(status.st_mode & 0777U, 0600U);
}

TEST(RevocationShareTest, AFileNotSealedUnderTheServersSecretAndNameIsNotRead)
{
    const SharedDirectory directory;
    const CacheSecret secret = random_cache_secret();
    RevocationShare share(directory.path(), secret, nullptr);
    RevocationShare stranger(directory.path(), random_cache_secret(), nullptr);
    const std::string name = RevocationShare::name_for("ocsp", "one certificate");
    const std::string other = RevocationShare::name_for("ocsp", "another certificate");

    stranger.write(name, "planted", 1700000000, 0);  // another secret
    EXPECT_FALSE(share.read(name, 1024));

    share.write(other, "another certificate's answer", 1700000000, 0);
    std::filesystem::copy_file(file_of(directory, other), file_of(directory, name),
                               std::filesystem::copy_options::overwrite_existing);
    EXPECT_FALSE(share.read(name, 1024));  // sealed for another name
    EXPECT_TRUE(share.read(other, 1024));

    std::string bytes;
    {
        std::ifstream in(file_of(directory, other), std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    ASSERT_GT(bytes.size(), 30U);
    bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 1);
    std::ofstream(file_of(directory, other), std::ios::binary | std::ios::trunc) << bytes;
    EXPECT_FALSE(share.read(other, 1024));  // one bit changed
}

TEST(RevocationShareTest, OneProcessAtATimeHoldsADocumentsFetchLock)
{
    const SharedDirectory directory;
    const CacheSecret secret = random_cache_secret();
    const RevocationShare first(directory.path(), secret, nullptr);
    const RevocationShare second(directory.path(), secret, nullptr);
    const std::string name = RevocationShare::name_for("crl", "http://ca.example/ca.crl");
    {
        const auto held = first.lock(name, std::chrono::milliseconds(0));
        ASSERT_TRUE(held);
        const auto started = std::chrono::steady_clock::now();
        EXPECT_FALSE(second.lock(name, std::chrono::milliseconds(200)));
        EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(200));
        EXPECT_TRUE(second.lock(RevocationShare::name_for("crl", "another"), std::chrono::milliseconds(0)));
    }
    EXPECT_TRUE(second.lock(name, std::chrono::milliseconds(0)));  // released with the first's
}

TEST(RevocationShareTest, FailedFetchesPauseEveryProcessUntilOneSucceeds)
{
    const SharedDirectory directory;
    const CacheSecret secret = random_cache_secret();
    RevocationShare first(directory.path(), secret, nullptr);
    RevocationShare second(directory.path(), secret, nullptr);
    const std::string name = RevocationShare::name_for("responder", "http://ocsp.example/");
    EXPECT_EQ(second.attempts(name).failures, 0);
    EXPECT_EQ(first.failed(name, 1000).next_attempt, 1010);
    EXPECT_EQ(second.failed(name, 1010).next_attempt, 1030);
    EXPECT_EQ(first.attempts(name).failures, 2);
    EXPECT_EQ(first.attempts(name).next_attempt, 1030);
    first.succeeded(name);
    EXPECT_EQ(second.attempts(name).failures, 0);
    EXPECT_EQ(second.attempts(name).next_attempt, 0);

    RevocationShare alone;  // no directory: this process's own count
    EXPECT_EQ(alone.failed(name, 1000).failures, 1);
    EXPECT_EQ(alone.attempts(name).failures, 1);
    EXPECT_TRUE(alone.lock(name, std::chrono::milliseconds(0)));
    EXPECT_FALSE(alone.read(name, 1024));
}

TEST(RevocationShareTest, ASweepRemovesOnlyWhatIsOld)
{
    const SharedDirectory directory;
    RevocationShare share(directory.path(), random_cache_secret(), nullptr);
    share.write("crl-old", "x", 0, 0);
    share.write("crl-new", "y", 0, 0);
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    const auto old = std::filesystem::file_time_type::clock::now() - std::chrono::hours(24 * 8);
    std::filesystem::last_write_time(file_of(directory, "crl-old"), old);
    share.sweep(now, std::int64_t{7} * 86400);
    EXPECT_FALSE(std::filesystem::exists(file_of(directory, "crl-old")));
    EXPECT_TRUE(std::filesystem::exists(file_of(directory, "crl-new")));
}

}  // namespace
}  // namespace arrcert
