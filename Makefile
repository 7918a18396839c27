# A thin front for CMake: make, make test, make demo, make install.
MAKEFLAGS += --no-print-directory
SHELL := /bin/bash
BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
PYTHON     ?= /usr/bin/python3
APXS       ?= apxs
JOBS       ?= $(shell nproc)
DESTDIR    ?=
LIBEXECDIR := $(shell $(APXS) -q LIBEXECDIR 2>/dev/null || echo /usr/lib/apache2/modules)
APACHE_MODS_AVAILABLE ?= /etc/apache2/mods-available
BINDIR     ?= /usr/local/bin
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 12
FUZZ_TARGETS := decode certificate dn_pattern thumbprint judge

SOURCES := $(shell find include mod_arrcert tests/unit tests/bench -name '*.h' -o -name '*.cpp' 2>/dev/null)
# The fuzz targets build only with clang (make fuzz): formatted, not in the main build's tidy run.
FORMATTED := $(SOURCES) $(wildcard tests/fuzz/*.cpp)

VERSION    := $(shell grep -m1 '^project' CMakeLists.txt | grep -o 'VERSION [0-9.]*' | cut -d' ' -f2)
DEB_STAGE  ?= $(BUILD)/deb

.PHONY: all deps configure test deb docs unit asan tsan integration integration-asan demo bench fuzz install lint format clean

all: $(BUILD)/mod_arrcert.so

$(BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

$(BUILD)/mod_arrcert.so: $(BUILD)/Makefile $(SOURCES)
	cmake --build $(BUILD) -j $(JOBS)

$(TSAN_BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DARRCERT_TSAN=ON -DARRCERT_BUILD_MODULE=OFF

$(ASAN_BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DARRCERT_SANITIZE=ON -DARRCERT_BUILD_MODULE=OFF

deps:
	.ci/install-deps

# Unit tests (plain and under ASan+UBSan), then the integration tests against real servers.
test: deps
	$(MAKE) all
	$(MAKE) unit asan tsan integration integration-asan

unit: $(BUILD)/mod_arrcert.so
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

asan: $(ASAN_BUILD)/Makefile
	cmake --build $(ASAN_BUILD) -j $(JOBS) --target arrcert_unit_tests arrcert_glue_tests
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS)

# The core's tests under ThreadSanitizer (threads sharing one configuration and one cache).
tsan: $(TSAN_BUILD)/Makefile
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target arrcert_unit_tests arrcert_glue_tests
	TSAN_OPTIONS=halt_on_error=1 $(TSAN_BUILD)/arrcert_unit_tests --gtest_brief=1
	TSAN_OPTIONS=halt_on_error=1 $(TSAN_BUILD)/arrcert_glue_tests --gtest_brief=1

integration: $(BUILD)/mod_arrcert.so
	cd tests/integration && $(PYTHON) -m pytest -q -p no:cacheprovider

# The integration suite against the module built with ASan+UBSan, loaded into the system's httpd
# (the sanitizer runtime preloaded into httpd only). Any report fails the test that caused it.
# Leaks are left to valgrind (test_valgrind.py): httpd frees its pools, not its process, at exit.
# mod_php cannot run under a sanitizer runtime (PHP dlopens extensions with RTLD_DEEPBIND), nor
# can valgrind run beside it; PHP-FPM's cases still run.
ASAN_MODULE_BUILD ?= build-asan-module
SANITIZER_LOGS := $(CURDIR)/$(ASAN_MODULE_BUILD)/reports
integration-asan: deps
	cmake -S . -B $(ASAN_MODULE_BUILD) -DCMAKE_BUILD_TYPE=Debug -DARRCERT_SANITIZE=ON
	cmake --build $(ASAN_MODULE_BUILD) -j $(JOBS) --target mod_arrcert
	rm -rf $(SANITIZER_LOGS) && mkdir -p $(SANITIZER_LOGS) && chmod 1777 $(SANITIZER_LOGS)
	cd tests/integration && ARRCERT_MODULE=$(CURDIR)/$(ASAN_MODULE_BUILD)/mod_arrcert.so \
		ARRCERT_HTTPD_PRELOAD="$$(gcc -print-file-name=libasan.so) $$(gcc -print-file-name=libubsan.so)" \
		ARRCERT_SANITIZER_LOGS=$(SANITIZER_LOGS) \
		ASAN_OPTIONS=detect_leaks=0:log_path=$(SANITIZER_LOGS)/asan \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$(SANITIZER_LOGS)/ubsan \
		$(PYTHON) -m pytest -q -p no:cacheprovider --ignore=test_load.py --ignore=test_demo_and_install.py \
		--ignore=test_valgrind.py --ignore=test_debian_package.py -k "not mod_php"

# An Azure-like TLS front end, httpd with the module and a PHP page on localhost.
demo: deps
	$(MAKE) all
	$(PYTHON) tests/integration/demo.py

# Benchmarks print figures; they are not tests. Micro: Google Benchmark; macro: httpd under wrk;
# instructions: what the module adds to a cached request, counted by callgrind; revocation: CRL
# fetches and OCSP queries per server for N children.
bench: deps
	$(MAKE) all
	$(BUILD)/arrcert_micro_bench --benchmark_min_time=0.5
	$(PYTHON) tests/bench/macro.py
	$(PYTHON) tests/bench/instructions.py
	$(PYTHON) tests/bench/hostile.py
	$(PYTHON) tests/bench/memory.py
	$(PYTHON) tests/bench/revocation.py

# libFuzzer (clang, ASan, UBSan): each target for FUZZ_SECONDS from seeds made of real certificates.
fuzz: deps
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DARRCERT_FUZZ=ON -DARRCERT_BUILD_MODULE=OFF
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS))
	$(PYTHON) tests/fuzz/make_corpus.py $(FUZZ_BUILD)/seeds
	for target in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_BUILD)/corpus/$$target && \
		$(FUZZ_BUILD)/fuzz_$$target -max_total_time=$(FUZZ_SECONDS) -dict=tests/fuzz/header.dict \
			-print_final_stats=1 $(FUZZ_BUILD)/corpus/$$target $(FUZZ_BUILD)/seeds/$$target 2>&1 \
			| grep -E "^stat::number_of_executed_units|ERROR|SUMMARY|Done" ; \
		test $${PIPESTATUS[0]} -eq 0 || exit 1; \
	done

install: $(BUILD)/mod_arrcert.so
	mkdir -p $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(APACHE_MODS_AVAILABLE)
	$(APXS) -S LIBEXECDIR=$(DESTDIR)$(LIBEXECDIR) -i -n arrcert $(BUILD)/mod_arrcert.so
	install -m 644 conf/arrcert.load conf/arrcert.conf $(DESTDIR)$(APACHE_MODS_AVAILABLE)/
	install -D -m 755 $(BUILD)/arrcert $(DESTDIR)$(BINDIR)/arrcert

# The Debian package (and its -dbgsym) into $(BUILD), from packaging/debian and the files git knows.
deb:
	rm -rf $(DEB_STAGE) && mkdir -p $(DEB_STAGE)/src
	git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} sh -c 'test -e "{}" && printf "%s\0" "{}"' \
		| tar -c --null -T - | tar -x -C $(DEB_STAGE)/src
	cp -r packaging/debian $(DEB_STAGE)/src/debian
	cp conf/arrcert.load conf/arrcert.conf $(DEB_STAGE)/src/debian/
	sed 's/@VERSION@/$(VERSION)/' packaging/man/arrcert.1 > $(DEB_STAGE)/src/debian/arrcert.1
	sed 's/@VERSION@/$(VERSION)/' packaging/man/mod_arrcert.5 > $(DEB_STAGE)/src/debian/mod_arrcert.5
	printf 'libapache2-mod-arrcert (%s) unstable; urgency=medium\n\n  * Release %s (version from CMakeLists.txt).\n\n -- %s  %s\n' \
		'$(VERSION)' '$(VERSION)' "$$(sed -n 's/^Maintainer: //p' packaging/debian/control)" \
		"$$(git log -1 --format=%aD 2>/dev/null || date -R)" > $(DEB_STAGE)/src/debian/changelog
	cd $(DEB_STAGE)/src && dpkg-buildpackage -us -uc -b -j$(JOBS)
	mv $(DEB_STAGE)/*.deb $(BUILD)/
	ls -l $(BUILD)/*.deb

# The directive reference and mod_arrcert(5) from the built module's command table and
# docs/src/directives.md, and the diagrams; the tests fail when the checked-in ones differ.
docs: $(BUILD)/mod_arrcert.so
	$(PYTHON) docs/tools/directives.py --tool $(BUILD)/arrcert_directive_table --module $(BUILD)/mod_arrcert.so
	$(PYTHON) docs/tools/diagrams.py

lint: $(BUILD)/Makefile
	clang-format --dry-run --Werror $(FORMATTED)
	run-clang-tidy -p $(BUILD) -quiet -j $(JOBS) $(addprefix $(CURDIR)/,$(filter %.cpp,$(SOURCES))) > $(BUILD)/clang-tidy.log 2>&1 \
		|| { grep -E "error:|warning:" $(BUILD)/clang-tidy.log; exit 1; }

format:
	clang-format -i $(FORMATTED)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
