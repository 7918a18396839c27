// The certificate variables in an environment, over real APR pools and tables: what an export
// replaces, what the later hooks find changed, and what goes where the module is off.
#include "../../mod_arrcert/httpd/environment.h"

#include <apr_general.h>
#include <apr_strings.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "arrcert/rules.h"
#include "test_pki.h"

namespace arrcert::httpd {
namespace {

class EnvironmentTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() { apr_initialize(); }
    static void TearDownTestSuite() { apr_terminate(); }
    void SetUp() override
    {
        ASSERT_EQ(apr_pool_create(&pool_, nullptr), APR_SUCCESS);
        env_ = apr_table_make(pool_, 8);
    }
    void TearDown() override { apr_pool_destroy(pool_); }

    // An unverified certificate let through by ArrCertAcceptUnverified: every standard variable.
    static const Verdict& verdict()
    {
        static const Verdict judged = [] {
            const auto issued = testing::issue({.subject = {{{"CN", "alice"}}}});
            return judge(testing::base64(issued.der), {.accept_unverified = true}, testing::now());
        }();
        return judged;
    }
    static Decision decision() { return decide(verdict(), testing::now(), 0); }

    const ExportRecord& export_now(const void* scope, const std::vector<std::string>* only = nullptr)
    {
        return export_certificate(pool_, env_, scope, verdict(), decision(), testing::now(), {true, false}, only);
    }
    [[nodiscard]] std::vector<std::string> keys() const
    {
        std::vector<std::string> names;
        const apr_array_header_t* entries = apr_table_elts(env_);
        names.reserve(static_cast<std::size_t>(entries->nelts));
        for (int i = 0; i < entries->nelts; ++i) {
            names.emplace_back(APR_ARRAY_IDX(entries, i, apr_table_entry_t).key);
        }
        return names;
    }

    apr_pool_t* pool_ = nullptr;
    apr_table_t* env_ = nullptr;
    const int scope_ = 0;
};

TEST_F(EnvironmentTest, CertificateNamesAreThoseOfModSslAndTheModuleAlsoAfterRedirects)
{
    for (const char* name : {"SSL_CLIENT_S_DN_CN", "SSL_CLIENT_VERIFY", "ARRCERT_THUMBPRINT",
                             "REDIRECT_SSL_CLIENT_S_DN", "REDIRECT_REDIRECT_ARRCERT_THUMBPRINT", "ssl_client_verify"}) {
        EXPECT_TRUE(is_certificate_name(name)) << name;
    }
    for (const char* name : {"SERVER_NAME", "SSL_PROTOCOL", "REDIRECT_STATUS", "HTTP_X_ARR_CLIENTCERT", "A", "S"}) {
        EXPECT_FALSE(is_certificate_name(name)) << name;
    }
}

TEST_F(EnvironmentTest, ExportReplacesEveryCertificateNameAndKeepsTheRest)
{
    apr_table_setn(env_, "SERVER_NAME", "example");
    apr_table_setn(env_, "SSL_CLIENT_S_DN_CN", "mallory");  // SetEnv, or mod_ssl's
    apr_table_setn(env_, "REDIRECT_SSL_CLIENT_VERIFY", "SUCCESS");
    export_now(&scope_);
    EXPECT_STREQ(apr_table_get(env_, "SERVER_NAME"), "example");
    EXPECT_STREQ(apr_table_get(env_, "SSL_CLIENT_S_DN_CN"), "alice");
    EXPECT_EQ(apr_table_get(env_, "REDIRECT_SSL_CLIENT_VERIFY"), nullptr);
    const std::vector<std::string> names = keys();
    EXPECT_EQ(std::count(names.begin(), names.end(), "SSL_CLIENT_S_DN_CN"), 1);
    EXPECT_EQ(std::count(names.begin(), names.end(), "SSL_CLIENT_VERIFY"), 1);
}

TEST_F(EnvironmentTest, ValuesAreTheRequestsOwnCopies)
{
    export_now(&scope_);
    const char* subject = apr_table_get(env_, "SSL_CLIENT_S_DN");
    ASSERT_NE(subject, nullptr);
    for (const auto& [name, value] : verdict().variables.standard) {
        EXPECT_NE(static_cast<const void*>(subject), static_cast<const void*>(value.data())) << name;
    }
}

// A connection's table (from its second export of the same block on) gives the same entries in the
// same order, each the request's own copy: none in the table's pool, none in the verdict.
TEST_F(EnvironmentTest, TheConnectionsTableGivesTheSameEntriesAsTheRequestsOwnCopies)
{
    apr_pool_t* connection = nullptr;
    ASSERT_EQ(apr_pool_create(&connection, pool_), APR_SUCCESS);
    StandardTable table(connection);
    export_now(&scope_);
    const std::vector<std::string> plain = keys();
    std::vector<std::string> plain_values;
    plain_values.reserve(plain.size());
    for (const std::string& key : plain) {
        plain_values.emplace_back(apr_table_get(env_, key.c_str()));
    }
    for (int round = 0; round < 3; ++round) {
        env_ = apr_table_make(pool_, 8);
        export_certificate(pool_, env_, &scope_, verdict(), decision(), testing::now(), {true, false}, nullptr, &table);
        ASSERT_EQ(keys(), plain) << round;
        const apr_array_header_t* entries = apr_table_elts(env_);
        for (int i = 0; i < entries->nelts; ++i) {
            const apr_table_entry_t& entry = APR_ARRAY_IDX(entries, i, apr_table_entry_t);
            EXPECT_EQ(entry.val, plain_values.at(static_cast<std::size_t>(i))) << entry.key;
            EXPECT_EQ(apr_table_get(env_, entry.key), entry.val) << entry.key;  // the index holds
            if (table.base() != nullptr) {
                const std::string& kept = verdict().variables.block.bytes;
                EXPECT_FALSE(entry.key >= table.base() && entry.key < table.base() + kept.size()) << entry.key;
                EXPECT_FALSE(entry.val >= kept.data() && entry.val < kept.data() + kept.size()) << entry.key;
            }
        }
    }
    EXPECT_NE(table.base(), nullptr);
}

TEST_F(EnvironmentTest, OnlyTheListedNamesWithArrCertExport)
{
    const std::vector<std::string> only{"SSL_CLIENT_S_DN_CN"};
    export_now(&scope_, &only);
    EXPECT_EQ(keys(), only);
}

TEST_F(EnvironmentTest, AnExportStandsUntilACertificateNameChanges)
{
    apr_table_setn(env_, "BEFORE", "1");
    const ExportRecord& record = export_now(&scope_);
    EXPECT_TRUE(record.stands(env_, &scope_));
    apr_table_setn(env_, "OTHER", "x");  // names that are not the certificate's may come and go
    apr_table_unset(env_, "BEFORE");
    EXPECT_TRUE(record.stands(env_, &scope_));
    const int other_scope = 0;
    EXPECT_FALSE(record.stands(env_, &other_scope));  // a fast redirect into another scope

    apr_table_setn(env_, "SSL_CLIENT_CERT", "forged");  // SetEnv, RewriteRule [E=...]; not exported here
    EXPECT_FALSE(record.stands(env_, &scope_));
    apr_table_unset(env_, "SSL_CLIENT_CERT");
    EXPECT_TRUE(record.stands(env_, &scope_));
    apr_table_setn(env_, "SSL_CLIENT_S_DN_CN", "mallory");  // a value replaced in place
    EXPECT_FALSE(record.stands(env_, &scope_));
}

TEST_F(EnvironmentTest, AnOverlaidCopyStandsOnlyWithTheSameEntries)
{
    const ExportRecord& record = export_now(&scope_);
    apr_table_t* front = apr_table_make(pool_, 2);
    apr_table_setn(front, "DOCUMENT_ROOT", "/srv");
    apr_table_t* copy = apr_table_overlay(pool_, front, env_);  // as mod_dir merges a subrequest's
    EXPECT_TRUE(record.stands(copy, &scope_));
    apr_table_t* other = apr_table_make(pool_, 2);
    apr_table_setn(other, "SSL_CLIENT_S_DN_CN", apr_pstrdup(pool_, "alice"));  // the same text, not the same entry
    EXPECT_FALSE(record.stands(apr_table_overlay(pool_, other, env_), &scope_));
}

TEST_F(EnvironmentTest, WhereTheModuleIsOffItsOwnExportGoesAndNothingElse)
{
    const ExportRecord& record = export_now(&scope_);
    apr_table_setn(env_, "SSL_PROTOCOL", "TLSv1.3");
    apr_table_setn(env_, "SSL_CLIENT_S_DN_O", "set by mod_ssl afterwards");
    apr_table_t* kept = record.without_own(pool_, env_);
    EXPECT_EQ(apr_table_get(kept, "SSL_CLIENT_S_DN_CN"), nullptr);
    EXPECT_EQ(apr_table_get(kept, "SSL_CLIENT_VERIFY"), nullptr);
    EXPECT_STREQ(apr_table_get(kept, "SSL_PROTOCOL"), "TLSv1.3");
    EXPECT_STREQ(apr_table_get(kept, "SSL_CLIENT_S_DN_O"), "set by mod_ssl afterwards");
}

TEST_F(EnvironmentTest, WithoutCertificateCopiesOnlyWhenThereIsOne)
{
    apr_table_setn(env_, "SERVER_NAME", "example");
    EXPECT_EQ(without_certificate(pool_, env_), env_);
    apr_table_setn(env_, "REDIRECT_SSL_CLIENT_S_DN_CN", "alice");
    apr_table_t* kept = without_certificate(pool_, env_);
    EXPECT_NE(kept, env_);
    EXPECT_EQ(apr_table_get(kept, "REDIRECT_SSL_CLIENT_S_DN_CN"), nullptr);
    EXPECT_STREQ(apr_table_get(kept, "SERVER_NAME"), "example");
}

}  // namespace
}  // namespace arrcert::httpd
