// Micro benchmarks of the core: what a request costs on a cache miss and on a hit.
#include <benchmark/benchmark.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../unit/test_pki.h"
#include "arrcert/certificate.h"
#include "arrcert/decode.h"
#include "arrcert/digest.h"
#include "arrcert/export.h"
#include "arrcert/rules.h"
#include "arrcert/verdict_cache.h"
#include "arrcert/verdict_codec.h"

namespace {

using namespace arrcert;

struct Pki {
    testing::Issued root = testing::issue(
        {.subject = {{{"O", "Contoso"}}, {{"CN", "Root"}}}, .key = testing::KeyType::rsa2048, .ca = true});
    testing::Issued intermediate = testing::issue({.subject = {{{"O", "Contoso"}}, {{"CN", "Issuing"}}},
                                                   .issuer = {{{"O", "Contoso"}}, {{"CN", "Root"}}},
                                                   .key = testing::KeyType::rsa2048,
                                                   .issuer_key = root.key.get(),
                                                   .ca = true});
    testing::Issued leaf = testing::issue({.subject = {{{"O", "Contoso"}}, {{"OU", "Eng"}}, {{"CN", "alice"}}},
                                           .issuer = {{{"O", "Contoso"}}, {{"CN", "Issuing"}}},
                                           .subject_alt_name = "email:alice@example.com,DNS:alice.example",
                                           .key = testing::KeyType::rsa2048,
                                           .issuer_key = intermediate.key.get(),
                                           .extended_key_usage = "clientAuth"});
    std::string azure = testing::base64(leaf.der);
    std::string pem_spaces = [this] {
        std::string text = testing::pem(leaf.der);
        for (char& c : text) {
            c = c == '\n' ? ' ' : c;
        }
        return text;
    }();
    std::string chain = testing::pem(leaf.der) + testing::pem(intermediate.der);
    testing::TempFile root_file{testing::pem(root.der)};
    std::vector<Thumbprint> pins{Thumbprint::parse(to_hex(Certificate::parse(leaf.der)->sha1())).value()};
    std::vector<DnPattern> issuers{DnPattern::parse("CN=Issuing, O=Contoso").value()};
    TrustStore trust;
    Pki()
    {
        if (!trust.add_file(root_file.path())) {
            throw std::runtime_error("cannot load the test root");
        }
    }
};

Pki& pki()
{
    static Pki instance;
    return instance;
}

void decode(benchmark::State& state, const std::string& value)
{
    for (auto _ : state) {
        benchmark::DoNotOptimize(decode_header(value));
    }
}
BENCHMARK_CAPTURE(decode, azure_base64_der, pki().azure);
BENCHMARK_CAPTURE(decode, pem_with_spaces, pki().pem_spaces);

void BM_parse(benchmark::State& state)
{
    const Der der = pki().leaf.der;
    for (auto _ : state) {
        benchmark::DoNotOptimize(Certificate::parse(der));
    }
}
BENCHMARK(BM_parse);

void BM_variables(benchmark::State& state)
{
    const auto certificate = Certificate::parse(pki().leaf.der);
    for (auto _ : state) {
        benchmark::DoNotOptimize(certificate_variables(certificate.value()));
    }
}
BENCHMARK(BM_variables);

void BM_judge_thumbprint_issuer(benchmark::State& state)
{
    const RuleSet rules{pki().pins, pki().issuers, {}, {}};
    for (auto _ : state) {
        benchmark::DoNotOptimize(judge(pki().azure, rules, testing::now()));
    }
}
BENCHMARK(BM_judge_thumbprint_issuer);

void BM_judge_chain(benchmark::State& state)
{
    RuleSet rules;
    rules.chain.trust = &pki().trust;
    for (auto _ : state) {
        benchmark::DoNotOptimize(judge(pki().chain, rules, testing::now()));
    }
}
BENCHMARK(BM_judge_chain);

// What the module does per request on a hit: the rules' fingerprint, lookup (full comparison of
// the header), decision, every variable copied out.
void BM_cache_hit(benchmark::State& state)
{
    VerdictCache cache(1000, 300);
    const RuleSet rules{pki().pins, pki().issuers, {}, {}};
    const std::int64_t now = testing::now();
    cache.insert({pki().azure, rules_fingerprint(rules, DecodeOptions{}, HeaderFormat::automatic)},
                 std::make_shared<const Verdict>(judge(pki().azure, rules, now)), now);
    std::vector<std::pair<std::string, std::string>> env;
    for (auto _ : state) {
        const std::string fingerprint = rules_fingerprint(rules, DecodeOptions{}, HeaderFormat::automatic);
        const auto verdict = cache.find({pki().azure, fingerprint}, now);
        const Decision decision = decide(*verdict, now, 0);
        env.clear();
        export_variables(*verdict, decision, now, ExportOptions{},
                         [&](std::string_view name, std::string_view value) { env.emplace_back(name, value); });
        benchmark::DoNotOptimize(env.data());
    }
}
BENCHMARK(BM_cache_hit);

void BM_rules_fingerprint(benchmark::State& state)
{
    const RuleSet rules{pki().pins, pki().issuers, {}, {}};
    for (auto _ : state) {
        benchmark::DoNotOptimize(rules_fingerprint(rules, DecodeOptions{}, HeaderFormat::automatic));
    }
}
BENCHMARK(BM_rules_fingerprint);

// The key of a shared cache (computed on a memory miss), with SHA-256 looked up by OpenSSL on each
// use or fetched once (what the module does).
void BM_cache_key(benchmark::State& state)
{
    const FetchedSha256 fetched;
    const EVP_MD* sha256 = state.range(0) != 0 ? fetched.get() : nullptr;
    const std::string fingerprint =
        rules_fingerprint({pki().pins, pki().issuers, {}, {}}, DecodeOptions{}, HeaderFormat::automatic);
    for (auto _ : state) {
        benchmark::DoNotOptimize(cache_key(pki().azure, fingerprint, sha256));
    }
}
BENCHMARK(BM_cache_key)->Arg(0)->Arg(1);

void BM_cache_miss(benchmark::State& state)
{
    VerdictCache cache(1000, 300);
    const RuleSet rules{pki().pins, pki().issuers, {}, {}};
    const std::int64_t now = testing::now();
    std::int64_t round = 0;
    for (auto _ : state) {
        // A different fingerprint each time: the verdict is never there.
        const std::string fingerprint = std::to_string(++round);
        if (cache.find({pki().azure, fingerprint}, now) == nullptr) {
            cache.insert({pki().azure, fingerprint}, std::make_shared<const Verdict>(judge(pki().azure, rules, now)),
                         now);
        }
    }
}
BENCHMARK(BM_cache_miss);

// A hit in a shared cache (shmcb, memcache, redis) after the provider returned the bytes: check
// the seal and rebuild the verdict.
void BM_shared_entry_open(benchmark::State& state)
{
    const RuleSet rules{pki().pins, pki().issuers, {}, {}};
    const std::int64_t now = testing::now();
    const CacheKey key = cache_key(pki().azure, rules_fingerprint(rules, DecodeOptions{}, HeaderFormat::automatic));
    const CacheSeal seal(random_cache_secret());
    const std::string sealed = seal_verdict(judge(pki().azure, rules, now), now + 300, key, seal);
    for (auto _ : state) {
        auto opened = open_verdict(sealed, key, seal);
        benchmark::DoNotOptimize(opened);
    }
    state.counters["bytes"] = static_cast<double>(sealed.size());
}
BENCHMARK(BM_shared_entry_open);

}  // namespace

BENCHMARK_MAIN();
