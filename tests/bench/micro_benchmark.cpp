// Micro benchmarks of the core: what a request costs on a cache miss and on a hit.
#include <benchmark/benchmark.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../unit/test_pki.h"
#include "arrcert/certificate.h"
#include "arrcert/decode.h"
#include "arrcert/digest.h"
#include "arrcert/export.h"
#include "arrcert/rules.h"
#include "arrcert/status_area.h"
#include "arrcert/status_report.h"
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

// The status inventory at its largest (ArrCertStatusInventory 100000), filled once and shared by
// the benchmarks below, which run in order: known certificates, new ones, then both while pages
// are read. The clock moves one second every 1,000 requests.
class Inventory {
public:
    static constexpr unsigned size = 100000;
    Inventory()
        : bytes_(StatusArea::bytes_for(size)),
          block_(mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)),
          area_(StatusArea::create(block_, size))
    {
        const auto start = std::chrono::steady_clock::now();
        for (unsigned n = 0; n < size; ++n) {
            see(n);
        }
        fill_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    Inventory(const Inventory&) = delete;
    Inventory& operator=(const Inventory&) = delete;
    Inventory(Inventory&&) = delete;
    Inventory& operator=(Inventory&&) = delete;
    ~Inventory() { munmap(block_, bytes_); }

    void see(unsigned n)
    {
        Sha1 sha1{};
        for (std::size_t i = 0; i < sha1.size(); ++i) {
            sha1.at(i) = static_cast<unsigned char>((n * 2654435761U) >> (i % 4 * 8));
        }
        sha1.at(17) = static_cast<unsigned char>(n >> 16U);
        sha1.at(18) = static_cast<unsigned char>(n >> 8U);
        sha1.at(19) = static_cast<unsigned char>(n);
        const std::string subject = "CN=client number " + std::to_string(n) + ",OU=Devices,O=Contoso";
        const std::int64_t now = clock_ + static_cast<std::int64_t>(requests_++ / 1000);
        area_->record_certificate({sha1, subject, "CN=Contoso Issuing CA 01,O=Contoso", now - 86400,
                                   now + 86400 * static_cast<std::int64_t>(n % 700), now, Decision::Outcome::success,
                                   Rule::none});
    }
    unsigned fresh() { return next_++; }
    [[nodiscard]] std::int64_t now() const { return clock_ + static_cast<std::int64_t>(requests_ / 1000); }
    [[nodiscard]] const StatusArea& area() const { return *area_; }
    [[nodiscard]] double fill_seconds() const { return fill_seconds_; }

private:
    std::size_t bytes_;
    void* block_;
    StatusArea* area_;
    std::int64_t clock_ = 1'800'000'000;
    std::uint64_t requests_ = 0;
    unsigned next_ = size;
    double fill_seconds_ = 0;
};

Inventory& inventory()
{
    static Inventory instance;
    return instance;
}

// A certificate already listed (any of the 100,000, in a scattered order).
void BM_inventory_known(benchmark::State& state)
{
    Inventory& listed = inventory();
    unsigned i = 0;
    for (auto _ : state) {
        listed.see((i++ * 40503U) % Inventory::size);
    }
    state.counters["fill_s"] = listed.fill_seconds();
}
BENCHMARK(BM_inventory_known);

// A certificate seen for the first time: it pushes the least recently seen out.
void BM_inventory_new(benchmark::State& state)
{
    Inventory& listed = inventory();
    for (auto _ : state) {
        listed.see(listed.fresh());
    }
}
BENCHMARK(BM_inventory_new);

// The worst single eviction: every listed certificate seen again since it was listed, so the walk
// moves each of them before it takes one (paid for by those 100,000 requests).
void BM_inventory_new_after_all_seen_again(benchmark::State& state)
{
    for (auto _ : state) {
        state.PauseTiming();
        auto again = std::make_unique<Inventory>();
        for (unsigned n = 0; n < Inventory::size; ++n) {
            again->see(n);
        }
        state.ResumeTiming();
        again->see(again->fresh());
        state.PauseTiming();
        again.reset();  // unmapped outside the measure
        state.ResumeTiming();
    }
}
BENCHMARK(BM_inventory_new_after_all_seen_again)->Iterations(3)->Unit(benchmark::kMillisecond);

// What a page costs its reader: the snapshot (0), and the snapshot made into JSON (1).
void BM_inventory_page(benchmark::State& state)
{
    const Inventory& listed = inventory();
    for (auto _ : state) {
        const StatusSnapshot snapshot = listed.area().snapshot(listed.now());
        if (state.range(0) != 0) {
            benchmark::DoNotOptimize(status_json(snapshot, 30));
        }
    }
}
BENCHMARK(BM_inventory_page)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

struct Latencies {
    std::vector<double> all;
    std::vector<double> running;  // requests the scheduler did not preempt
    double waits = 0;             // requests that slept (waiting for the lock)
};

void report(benchmark::State& state, const std::string& prefix, Latencies& latencies)
{
    std::sort(latencies.all.begin(), latencies.all.end());
    std::sort(latencies.running.begin(), latencies.running.end());
    double sum = 0;
    for (const double each : latencies.all) {
        sum += each;
    }
    const auto& all = latencies.all;
    state.counters[prefix + "_mean_us"] = all.empty() ? 0 : sum / static_cast<double>(all.size());
    state.counters[prefix + "_p999_us"] = all.empty() ? 0 : all.at(all.size() * 999 / 1000);
    state.counters[prefix + "_max_us"] = all.empty() ? 0 : all.back();
    state.counters[prefix + "_max_unpreempted_us"] = latencies.running.empty() ? 0 : latencies.running.back();
    state.counters[prefix + "_waits"] = latencies.waits;
}

// Requests (known and new certificates, alternately) for three seconds, each timed, with or
// without another thread reading the JSON page over and over: the worst a request waits for a
// reader. On two shared cores the worst wall time is the scheduler's; a request that was not
// preempted (no involuntary context switch) shows the module's own worst, and one that slept
// (a voluntary switch) waited for the lock.
void BM_inventory_while_read(benchmark::State& state)
{
    Inventory& listed = inventory();
    std::vector<unsigned> hot(1024);
    for (unsigned& each : hot) {
        each = listed.fresh();
        listed.see(each);
    }
    std::atomic<bool> stop{false};
    std::atomic<unsigned> pages{0};
    std::atomic<std::size_t> page_bytes{0};
    std::thread reader;
    if (state.range(0) != 0) {
        reader = std::thread([&] {
            while (!stop.load()) {
                const std::string page = status_json(listed.area().snapshot(listed.now()), 30);
                page_bytes = page.size();
                ++pages;
            }
        });
    }
    Latencies known;
    Latencies fresh;
    for (auto _ : state) {
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
        for (unsigned k = 0; std::chrono::steady_clock::now() < until; ++k) {
            const bool is_known = k % 2 == 0;
            const unsigned n = is_known ? hot.at(k / 2 % hot.size()) : listed.fresh();
            rusage before{};
            getrusage(RUSAGE_THREAD, &before);
            const auto start = std::chrono::steady_clock::now();
            listed.see(n);
            const std::chrono::duration<double, std::micro> took = std::chrono::steady_clock::now() - start;
            rusage after{};
            getrusage(RUSAGE_THREAD, &after);
            Latencies& into = is_known ? known : fresh;
            into.all.push_back(took.count());
            if (after.ru_nivcsw == before.ru_nivcsw) {
                into.running.push_back(took.count());
            }
            into.waits += after.ru_nvcsw != before.ru_nvcsw ? 1 : 0;
        }
    }
    stop = true;
    if (reader.joinable()) {
        reader.join();
    }
    report(state, "known", known);
    report(state, "new", fresh);
    state.counters["pages"] = pages.load();
    state.counters["page_MB"] = static_cast<double>(page_bytes.load()) / 1e6;
}
BENCHMARK(BM_inventory_while_read)->Arg(0)->Arg(1)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
